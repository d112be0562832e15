// The emulated Entra directory: tenants, their users and groups, and every change made to them.
// A tenant's original users are computed by position (`baseUser`), so a synthetic tenant of
// 100k users is never stored one by one; anything changed or added later lives in `overrides`,
// stamped with a directory version so /users/delta can answer "what changed since". Every change
// is also written to storage (storage.ts) as it is made; restore.ts lays it back over the tenants.
import { ENTRA_USERS, GROUPS, TENANTS, type DemoTenant } from "../../demo/directory.ts";
import { DEMO_PROFILES, type DemoProfile } from "../../demo/profiles.ts";
import { persist } from "./storage.ts";

export interface DirectoryUser {
  id: string;
  tenantId: string;
  displayName: string;
  userPrincipalName: string;
  mail: string | null;
  userType: "Member" | "Guest";
  accountEnabled: boolean;
  globalAdmin: boolean;
  /** Direct group memberships; nesting comes from DirectoryGroup.memberOf. */
  groups: string[];
  /** A guest whose account is emulated in another tenant: the account's object id there. */
  homeOid?: string;
  /** Work profile (department, job title, office, employee id, manager, cost center); absent = all null. */
  profile?: DemoProfile;
}

export interface DirectoryGroup {
  id: string;
  tenantId: string;
  displayName: string;
  memberOf: string[];
  /** Directory version when the group was added or renamed (groups/delta lists it after that). */
  changedAt?: number;
}

/** A user as changed or added after the tenant was made (also the record storage keeps). */
export interface UserOverride {
  user: DirectoryUser;
  deleted: boolean;
  /** Directory version of the last change; /users/delta returns overrides newer than its token. */
  changedAt: number;
}

export interface Tenant {
  id: string;
  displayName: string;
  verifiedDomains: DemoTenant["verifiedDomains"];
  baseCount: number;
  baseUser(index: number): DirectoryUser;
  /** Position of an original user by object id or UPN (lower case), without enumerating. */
  baseIndexOf(idOrUpn: string): number | undefined;
  overrides: Map<string, UserOverride>;
  /** Users created after the tenant, in creation order; their data lives in `overrides`. */
  added: string[];
  groups: DirectoryGroup[];
  /** Clients this tenant's admin consented to on behalf of the organization. */
  consentedClients: Set<string>;
  /** Synthetic tenants: original user i is a direct member of `groupIds[i % groupIds.length]`. */
  synthetic?: { groupIds: string[] };
}

export interface UserEntry {
  user: DirectoryUser;
  deleted: boolean;
}

/** A group added or renamed through the admin API, and its place in the tenant's group order. */
export interface StoredGroup {
  group: DirectoryGroup;
  position: number;
}

/** Storage keys of a tenant's records: the tenant id, a space, then the record's own key. */
export const tenantKey = (tenantId: string, key: string): string => `${tenantId} ${key}`;

export const directory = {
  tenants: new Map<string, Tenant>(),
  /** Monotonic across resets, so a change is never stamped with a version a token already saw. */
  version: 0,
};

export function loadDemoDirectory(): void {
  directory.tenants.clear();
  for (const demo of TENANTS) {
    const seedUsers: DirectoryUser[] = ENTRA_USERS.filter((u) => u.tenantId === demo.id).map((u) => ({
      id: u.oid,
      tenantId: u.tenantId,
      displayName: u.displayName,
      userPrincipalName: u.userPrincipalName,
      mail: u.mail,
      userType: u.userType,
      accountEnabled: u.accountEnabled,
      globalAdmin: u.globalAdmin,
      groups: [...u.groups],
      ...(u.home ? { homeOid: u.home.oid } : {}),
      ...(DEMO_PROFILES[u.oid] ? { profile: copyProfile(DEMO_PROFILES[u.oid]!) } : {}),
    }));
    addTenant({
      id: demo.id,
      displayName: demo.displayName,
      verifiedDomains: demo.verifiedDomains.map((d) => ({ ...d })),
      baseCount: seedUsers.length,
      baseUser: (i) => copyUser(seedUsers[i]!),
      baseIndexOf: (key) => {
        const i = seedUsers.findIndex((u) => u.id === key || u.userPrincipalName.toLowerCase() === key);
        return i < 0 ? undefined : i;
      },
      groups: GROUPS.filter((g) => g.tenantId === demo.id).map((g) => ({ ...g, memberOf: [...g.memberOf] })),
    });
  }
}

export function addTenant(spec: Omit<Tenant, "overrides" | "added" | "consentedClients">): Tenant {
  const tenant: Tenant = { ...spec, overrides: new Map(), added: [], consentedClients: new Set() };
  directory.tenants.set(tenant.id, tenant);
  return tenant;
}

function copyUser(user: DirectoryUser): DirectoryUser {
  return { ...user, groups: [...user.groups], ...(user.profile ? { profile: copyProfile(user.profile) } : {}) };
}

function copyProfile(profile: DemoProfile): DemoProfile {
  return { ...profile, employeeOrgData: profile.employeeOrgData ? { ...profile.employeeOrgData } : null };
}

export function userCount(tenant: Tenant): number {
  return tenant.baseCount + tenant.added.length;
}

/** The user at a listing position: originals first, then users added later. */
export function userAt(tenant: Tenant, position: number): UserEntry | undefined {
  if (position < tenant.baseCount) {
    const base = tenant.baseUser(position);
    return tenant.overrides.get(base.id) ?? { user: base, deleted: false };
  }
  const oid = tenant.added[position - tenant.baseCount];
  return oid === undefined ? undefined : tenant.overrides.get(oid);
}

export function findUser(tenant: Tenant, idOrUpn: string): UserEntry | undefined {
  const key = idOrUpn.toLowerCase();
  const override = tenant.overrides.get(key);
  if (override) return override;
  for (const entry of tenant.overrides.values()) {
    if (entry.user.userPrincipalName.toLowerCase() === key) return entry;
  }
  const index = tenant.baseIndexOf(key);
  return index === undefined ? undefined : userAt(tenant, index);
}

/** Finds a user in any tenant (admin API calls name users by object id only). */
export function locateUser(oid: string): { tenant: Tenant; entry: UserEntry } | undefined {
  for (const tenant of directory.tenants.values()) {
    const entry = findUser(tenant, oid);
    if (entry && entry.user.id === oid.toLowerCase()) return { tenant, entry };
  }
  return undefined;
}

/** Records a change to one user; it becomes visible to /users/delta. */
export function changeUser(tenant: Tenant, oid: string, change: (entry: UserEntry) => void): UserEntry | undefined {
  const current = findUser(tenant, oid);
  if (!current) return undefined;
  const next: UserEntry = { user: copyUser(current.user), deleted: current.deleted };
  change(next);
  saveUser(tenant, { ...next, changedAt: ++directory.version });
  return next;
}

export function createUser(tenant: Tenant, user: DirectoryUser): void {
  saveUser(tenant, { user, deleted: false, changedAt: ++directory.version });
  tenant.added.push(user.id);
  // Zero-padded, so storage's key order is creation order.
  persist("addedUser", tenantKey(tenant.id, String(tenant.added.length - 1).padStart(10, "0")), user.id);
}

function saveUser(tenant: Tenant, stored: UserOverride): void {
  tenant.overrides.set(stored.user.id, stored);
  persist("user", tenantKey(tenant.id, stored.user.id), stored);
  saveDirectoryVersion();
}

/** The directory version survives a restart, so delta tokens issued before it still mean the same moment. */
export function saveDirectoryVersion(): void {
  persist("meta", "directoryVersion", directory.version);
}

export function addGroup(tenant: Tenant, group: DirectoryGroup): void {
  group.changedAt = ++directory.version;
  saveDirectoryVersion();
  tenant.groups.push(group);
  persist("group", tenantKey(tenant.id, group.id), { group, position: tenant.groups.length - 1 } satisfies StoredGroup);
}

export function renameGroup(tenant: Tenant, group: DirectoryGroup, displayName: string): void {
  group.displayName = displayName;
  group.changedAt = ++directory.version;
  saveDirectoryVersion();
  persist("group", tenantKey(tenant.id, group.id), { group, position: tenant.groups.indexOf(group) } satisfies StoredGroup);
}

/** The tenant's admin consented to `clientId` on behalf of the organization. */
export function grantConsent(tenant: Tenant, clientId: string): void {
  tenant.consentedClients.add(clientId);
  persist("consent", tenant.id, [...tenant.consentedClients]);
}

/** Withdraws that consent (as deleting the grant in the portal would); false when there was none. */
export function withdrawConsent(tenant: Tenant, clientId: string): boolean {
  const removed = tenant.consentedClients.delete(clientId);
  persist("consent", tenant.id, [...tenant.consentedClients]);
  return removed;
}

/** Overrides changed after `sinceVersion`, oldest first (what a delta round returns). */
export function changesSince(tenant: Tenant, sinceVersion: number, uptoVersion: number): UserEntry[] {
  return [...tenant.overrides.values()]
    .filter((o) => o.changedAt > sinceVersion && o.changedAt <= uptoVersion)
    .sort((a, b) => a.changedAt - b.changedAt);
}

export function findGroup(tenant: Tenant, gid: string): DirectoryGroup | undefined {
  return tenant.groups.find((g) => g.id === gid.toLowerCase());
}

/** A user's groups, nested ones included, in the tenant's group order. */
export function transitiveGroupsOf(tenant: Tenant, user: DirectoryUser): DirectoryGroup[] {
  const reached = new Set<string>();
  const pending = [...user.groups];
  while (pending.length > 0) {
    const gid = pending.pop()!;
    if (reached.has(gid)) continue;
    reached.add(gid);
    pending.push(...(findGroup(tenant, gid)?.memberOf ?? []));
  }
  return tenant.groups.filter((g) => reached.has(g.id));
}

/** The group and every group nested in it, at any depth. */
export function nestedGroupIds(tenant: Tenant, gid: string): Set<string> {
  const inside = new Set<string>([gid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const g of tenant.groups) {
      if (!inside.has(g.id) && g.memberOf.some((parent) => inside.has(parent))) {
        inside.add(g.id);
        grew = true;
      }
    }
  }
  return inside;
}

/**
 * Users who are members of any of `groupIds`, from listing position `from` on. Positions of a
 * synthetic tenant's original users step by the membership pattern, so paging through one
 * group of a 100k-user tenant never visits the other groups' members; the rest (users changed
 * or added by the admin API) follow as a short list.
 */
export function* membersFrom(tenant: Tenant, groupIds: Set<string>, from: number): Generator<{ position: number; user: DirectoryUser }> {
  const isMember = (entry: UserEntry | undefined): entry is UserEntry =>
    !!entry && !entry.deleted && entry.user.groups.some((g) => groupIds.has(g));
  const pattern = tenant.synthetic?.groupIds;
  if (!pattern) {
    for (let position = from; position < userCount(tenant); position++) {
      const entry = userAt(tenant, position);
      if (isMember(entry)) yield { position, user: entry.user };
    }
    return;
  }
  const residues = pattern.flatMap((gid, r) => (groupIds.has(gid) ? [r] : []));
  if (residues.length > 0) {
    const n = pattern.length;
    for (let block = Math.floor(from / n) * n; block < tenant.baseCount; block += n) {
      for (const r of residues) {
        const position = block + r;
        if (position < from || position >= tenant.baseCount) continue;
        const entry = userAt(tenant, position);
        if (isMember(entry)) yield { position, user: entry.user };
      }
    }
  }
  const residueSet = new Set(residues);
  const others = [...tenant.overrides.values()].filter((o) => {
    const index = tenant.baseIndexOf(o.user.id);
    return index !== undefined && !residueSet.has(index % pattern.length);
  });
  const extras = [...others.map((o) => o.user.id), ...tenant.added];
  for (let k = Math.max(0, from - tenant.baseCount); k < extras.length; k++) {
    const entry = tenant.overrides.get(extras[k]!);
    if (isMember(entry)) yield { position: tenant.baseCount + k, user: entry.user };
  }
}

/** Template id of the Global Administrator role, the one directory role the demo models. */
export const GLOBAL_ADMINISTRATOR_TEMPLATE_ID = "62e90394-69f5-4237-9190-012177145e10";

/** The user's directory roles, by role template id (what the `wids` claim lists). */
export function directoryRoleTemplateIds(user: DirectoryUser): string[] {
  return user.globalAdmin ? [GLOBAL_ADMINISTRATOR_TEMPLATE_ID] : [];
}

/** The guest object in `tenant` that stands for the account `homeOid` of another tenant. */
export function guestFor(tenant: Tenant, homeOid: string): UserEntry | undefined {
  if (tenant.synthetic) return undefined; // synthetic tenants have no guests; never walk 100k users
  const key = homeOid.toLowerCase();
  for (let i = 0; i < tenant.baseCount; i++) {
    const entry = userAt(tenant, i);
    if (entry?.user.homeOid === key) return entry;
  }
  for (const oid of tenant.added) {
    const entry = tenant.overrides.get(oid);
    if (entry?.user.homeOid === key) return entry;
  }
  return undefined;
}
