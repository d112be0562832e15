// The demo world: three Entra tenants, two Google accounts, and what UniAsset knows about them.
// The emulator serves the directory part; demo/seed.ts writes the UniAsset part to local D1.
// Ids are fixed so tests, docs and screenshots can name them.

export const CONTOSO_TENANT_ID = "7f1c6a7e-1b2c-4d3e-8f90-a1b2c3d4e5f6";
export const FABRIKAM_TENANT_ID = "0b7d2f4e-9a8c-4b6d-a5e3-2c1f0e9d8b7a";
export const NORTHWIND_TENANT_ID = "5a9e3c1d-7b2f-4e6a-8d0c-9f1e2d3c4b5a";

export interface DemoTenant {
  id: string;
  displayName: string;
  /** The first is the default domain; `initial` marks the onmicrosoft.com one. */
  verifiedDomains: { name: string; isDefault: boolean; isInitial: boolean }[];
}

export interface DemoEntraUser {
  key: string;
  tenantId: string;
  oid: string;
  displayName: string;
  userPrincipalName: string;
  mail: string;
  userType: "Member" | "Guest";
  accountEnabled: boolean;
  globalAdmin: boolean;
  /** Direct group memberships (object ids); nesting comes from DemoGroup.memberOf. */
  groups: string[];
  /** A guest whose account lives in another emulated tenant: that account's tenant and object id. */
  home?: { tenantId: string; oid: string };
}

export interface DemoGroup {
  tenantId: string;
  id: string;
  displayName: string;
  /** Groups this group is itself a member of (nesting). */
  memberOf: string[];
}

export interface DemoGoogleAccount {
  key: string;
  sub: string;
  email: string;
  name: string;
  /** A Google Workspace account's domain (the ID token's `hd`); consumer accounts have none. */
  hd?: string;
}

export const TENANTS: DemoTenant[] = [
  {
    id: CONTOSO_TENANT_ID,
    displayName: "Contoso Ltd",
    verifiedDomains: [
      { name: "contoso.example", isDefault: true, isInitial: false },
      // The UK subsidiary's domain: what the Entra page's domain choice (issue 20) is tried with.
      { name: "contoso-uk.example", isDefault: false, isInitial: false },
      { name: "contoso.onmicrosoft.com", isDefault: false, isInitial: true },
    ],
  },
  {
    id: FABRIKAM_TENANT_ID,
    displayName: "Fabrikam Inc",
    verifiedDomains: [{ name: "fabrikam.example", isDefault: true, isInitial: true }],
  },
  // Not consented to UniAsset yet, and its UniAsset Owner is no Entra admin: the setup link's story.
  {
    id: NORTHWIND_TENANT_ID,
    displayName: "Northwind Traders",
    verifiedDomains: [{ name: "northwind.example", isDefault: true, isInitial: true }],
  },
];

export const GROUP_IDS = {
  uniassetAdmins: "6a1f0c2e-4b3d-4e5f-8a9b-000000000a01",
  uniassetManagers: "6a1f0c2e-4b3d-4e5f-8a9b-000000000a02",
  itStaff: "6a1f0c2e-4b3d-4e5f-8a9b-000000000a03",
  allStaff: "6a1f0c2e-4b3d-4e5f-8a9b-000000000a04",
} as const;

export const GROUPS: DemoGroup[] = [
  { tenantId: CONTOSO_TENANT_ID, id: GROUP_IDS.uniassetAdmins, displayName: "UniAsset Admins", memberOf: [] },
  { tenantId: CONTOSO_TENANT_ID, id: GROUP_IDS.uniassetManagers, displayName: "UniAsset Managers", memberOf: [] },
  { tenantId: CONTOSO_TENANT_ID, id: GROUP_IDS.itStaff, displayName: "IT Staff", memberOf: [GROUP_IDS.uniassetAdmins] },
  { tenantId: CONTOSO_TENANT_ID, id: GROUP_IDS.allStaff, displayName: "All Staff", memberOf: [] },
];

export const ENTRA_USERS: DemoEntraUser[] = [
  {
    key: "adele",
    tenantId: CONTOSO_TENANT_ID,
    oid: "1d3e5a70-2b4c-4d6e-9f80-00000000ad01",
    displayName: "Adele Vance",
    userPrincipalName: "adele@contoso.example",
    mail: "adele@contoso.example",
    userType: "Member",
    accountEnabled: true,
    globalAdmin: true,
    groups: [GROUP_IDS.allStaff],
  },
  {
    key: "megan",
    tenantId: CONTOSO_TENANT_ID,
    oid: "1d3e5a70-2b4c-4d6e-9f80-00000000ad02",
    displayName: "Megan Bowen",
    userPrincipalName: "megan@contoso.example",
    mail: "megan@contoso.example",
    userType: "Member",
    accountEnabled: true,
    globalAdmin: false,
    groups: [GROUP_IDS.uniassetManagers, GROUP_IDS.allStaff],
  },
  {
    key: "alex",
    tenantId: CONTOSO_TENANT_ID,
    oid: "1d3e5a70-2b4c-4d6e-9f80-00000000ad03",
    displayName: "Alex Wilber",
    userPrincipalName: "alex@contoso.example",
    mail: "alex@contoso.example",
    userType: "Member",
    accountEnabled: true,
    globalAdmin: false,
    groups: [GROUP_IDS.itStaff, GROUP_IDS.allStaff],
  },
  {
    key: "diego",
    tenantId: CONTOSO_TENANT_ID,
    oid: "1d3e5a70-2b4c-4d6e-9f80-00000000ad04",
    displayName: "Diego Siciliani",
    userPrincipalName: "diego@contoso.example",
    mail: "diego@contoso.example",
    userType: "Member",
    accountEnabled: false,
    globalAdmin: false,
    groups: [GROUP_IDS.allStaff],
  },
  {
    key: "jordan",
    tenantId: CONTOSO_TENANT_ID,
    oid: "1d3e5a70-2b4c-4d6e-9f80-00000000ad05",
    displayName: "Jordan Guest",
    userPrincipalName: "jordan_fabrikam.example#EXT#@contoso.onmicrosoft.com",
    mail: "jordan@fabrikam.example",
    userType: "Guest",
    accountEnabled: true,
    globalAdmin: false,
    groups: [GROUP_IDS.allStaff],
  },
  {
    key: "lee",
    tenantId: FABRIKAM_TENANT_ID,
    oid: "2e4f6b81-3c5d-4e7f-a091-00000000fb01",
    displayName: "Lee Gu",
    userPrincipalName: "lee@fabrikam.example",
    mail: "lee@fabrikam.example",
    userType: "Member",
    accountEnabled: true,
    globalAdmin: true,
    groups: [],
  },
  // An outside consultant: a plain member of Fabrikam (her home tenant) and, invited into Contoso
  // as a guest, a Global Administrator there. Which of the two signs in depends on the authority.
  {
    key: "casey",
    tenantId: FABRIKAM_TENANT_ID,
    oid: "2e4f6b81-3c5d-4e7f-a091-00000000fb02",
    displayName: "Casey Morgan",
    userPrincipalName: "casey@fabrikam.example",
    mail: "casey@fabrikam.example",
    userType: "Member",
    accountEnabled: true,
    globalAdmin: false,
    groups: [],
  },
  {
    key: "caseyGuest",
    tenantId: CONTOSO_TENANT_ID,
    oid: "1d3e5a70-2b4c-4d6e-9f80-00000000ad06",
    displayName: "Casey Morgan",
    userPrincipalName: "casey_fabrikam.example#EXT#@contoso.onmicrosoft.com",
    mail: "casey@fabrikam.example",
    userType: "Guest",
    accountEnabled: true,
    globalAdmin: true,
    groups: [],
    home: { tenantId: FABRIKAM_TENANT_ID, oid: "2e4f6b81-3c5d-4e7f-a091-00000000fb02" },
  },
  // Contoso's UK subsidiary: a member in the second verified domain (contoso-uk.example), so
  // unticking that domain on the Entra page has someone to leave out.
  {
    key: "isaiah",
    tenantId: CONTOSO_TENANT_ID,
    oid: "1d3e5a70-2b4c-4d6e-9f80-00000000ad07",
    displayName: "Isaiah Langer",
    userPrincipalName: "isaiah@contoso-uk.example",
    mail: "isaiah@contoso-uk.example",
    userType: "Member",
    accountEnabled: true,
    globalAdmin: false,
    groups: [GROUP_IDS.allStaff],
  },
  {
    key: "nestor",
    tenantId: NORTHWIND_TENANT_ID,
    oid: "3f5a7c92-4d6e-4f80-b1a2-00000000aa01",
    displayName: "Nestor Wilke",
    userPrincipalName: "nestor@northwind.example",
    mail: "nestor@northwind.example",
    userType: "Member",
    accountEnabled: true,
    globalAdmin: false,
    groups: [],
  },
  {
    key: "nancy",
    tenantId: NORTHWIND_TENANT_ID,
    oid: "3f5a7c92-4d6e-4f80-b1a2-00000000aa02",
    displayName: "Nancy Davolio",
    userPrincipalName: "nancy@northwind.example",
    mail: "nancy@northwind.example",
    userType: "Member",
    accountEnabled: true,
    globalAdmin: true,
    groups: [],
  },
];

export const GOOGLE_ACCOUNTS: DemoGoogleAccount[] = [
  { key: "pat", sub: "104857600000000000001", email: "pat@gmail.example", name: "Pat Kim" },
  { key: "sam", sub: "104857600000000000002", email: "sam@gmail.example", name: "Sam Rivera" },
  // Contoso's Google Workspace account: a person Contoso's SCIM provider may push (src/signin/scimLink.ts).
  { key: "irvin", sub: "104857600000000000003", email: "irvin@contoso.example", name: "Irvin Sayers", hd: "contoso.example" },
];

export function entraUser(key: string): DemoEntraUser {
  const user = ENTRA_USERS.find((u) => u.key === key);
  if (!user) throw new Error(`no demo Entra user "${key}"`);
  return user;
}

export function googleAccount(key: string): DemoGoogleAccount {
  const account = GOOGLE_ACCOUNTS.find((a) => a.key === key);
  if (!account) throw new Error(`no demo Google account "${key}"`);
  return account;
}
