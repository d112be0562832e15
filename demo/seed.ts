// UniAsset's side of the demo world, as idempotent SQL: `npm start` applies it to local D1 and the
// tests apply it before each file. INSERT OR IGNORE means a second run changes nothing.
import { CONTOSO_TENANT_ID, FABRIKAM_TENANT_ID, NORTHWIND_TENANT_ID, entraUser, googleAccount } from "./directory.ts";

export const DEMO_ORGS = {
  contoso: { id: "0c000000-0000-4000-8000-00000000c001", name: "Contoso", plan: "enterprise" },
  fabrikam: { id: "0c000000-0000-4000-8000-00000000fb01", name: "Fabrikam", plan: "team" },
  northwind: { id: "0c000000-0000-4000-8000-00000000aa01", name: "Northwind", plan: "enterprise" },
} as const;

export const DEMO_USER_IDS = {
  adele: "0a000000-0000-4000-8000-0000000000a1",
  diego: "0a000000-0000-4000-8000-0000000000d1",
  lee: "0a000000-0000-4000-8000-0000000000e1",
  nestor: "0a000000-0000-4000-8000-0000000000f1",
} as const;

export const DEMO_INVITATION_ID = "01000000-0000-4000-8000-000000000001";

/** Fixed so a re-run is a no-op and demo data looks the same on every machine. */
const SEEDED_AT = Date.UTC(2026, 0, 5, 9, 0, 0);
const INVITATION_LIFETIME_MS = 10 * 365 * 24 * 3600 * 1000;

function quote(value: string | number | null): string {
  if (value === null) return "NULL";
  if (typeof value === "number") return String(value);
  return `'${value.replaceAll("'", "''")}'`;
}

function insert(table: string, row: Record<string, string | number | null>): string {
  const columns = Object.keys(row);
  return `INSERT OR IGNORE INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((c) => quote(row[c] ?? null)).join(", ")});`;
}

export function demoSeedStatements(): string[] {
  const statements: string[] = [];
  for (const org of Object.values(DEMO_ORGS)) {
    statements.push(insert("organizations", { id: org.id, name: org.name, plan: org.plan, created_at: SEEDED_AT }));
  }
  const members = [
    { key: "adele", tenant: CONTOSO_TENANT_ID, org: DEMO_ORGS.contoso.id, role: "owner" },
    { key: "diego", tenant: CONTOSO_TENANT_ID, org: DEMO_ORGS.contoso.id, role: "member" },
    { key: "lee", tenant: FABRIKAM_TENANT_ID, org: DEMO_ORGS.fabrikam.id, role: "owner" },
    { key: "nestor", tenant: NORTHWIND_TENANT_ID, org: DEMO_ORGS.northwind.id, role: "owner" },
  ] as const;
  for (const member of members) {
    const person = entraUser(member.key);
    const userId = DEMO_USER_IDS[member.key];
    statements.push(
      insert("users", { id: userId, email: person.mail, display_name: person.displayName, created_at: SEEDED_AT }),
      insert("identities", {
        provider: "microsoft",
        issuer_key: member.tenant,
        subject: person.oid,
        user_id: userId,
        email: person.mail,
        created_at: SEEDED_AT,
      }),
      insert("memberships", {
        organization_id: member.org,
        user_id: userId,
        role: member.role,
        status: "active",
        created_at: SEEDED_AT,
      }),
    );
  }
  statements.push(
    insert("invitations", {
      id: DEMO_INVITATION_ID,
      organization_id: DEMO_ORGS.contoso.id,
      email: googleAccount("pat").email,
      role: "viewer",
      invited_by: DEMO_USER_IDS.adele,
      created_at: SEEDED_AT,
      expires_at: SEEDED_AT + INVITATION_LIFETIME_MS,
    }),
  );
  return statements;
}
