// Synthetic tenants for paging tests and the benchmark: every user is a pure function of
// (seed, index), so listing 100k users costs memory for one page, not for the tenant. Storage
// keeps only the spec (and, like any tenant's, the users changed later), never the users.
import { addTenant, directory, type DirectoryUser, type Tenant } from "./directory.ts";
import { persist, unpersistTenant } from "./storage.ts";
import { fnv1a, hex } from "./util.ts";

export interface SyntheticTenantSpec {
  tenantId?: string;
  displayName?: string;
  domain?: string;
  users: number;
  /** Share of disabled users, in percent: 1 disables every 100th user (never the admin). */
  disabledPercent?: number;
  /** Number of groups; user i is a direct member of group i % groups. */
  groups?: number;
  seed?: number;
}

const SYNTHETIC_ID = /^([0-9a-f]{8})-5e00-4000-8000-([0-9a-f]{12})$/;

function syntheticId(prefix: number, kind: "user" | "group", index: number): string {
  const middle = kind === "user" ? "5e00-4000-8000" : "5e00-4000-9000";
  return `${hex(prefix, 8)}-${middle}-${hex(index, 12)}`;
}

/** The spec as storage keeps it: the tenant id resolved, and when it was made (the tenants' order). */
export interface StoredSyntheticTenant extends SyntheticTenantSpec {
  tenantId: string;
  createdAt: number;
}

/** POST /_emulator/synthetic-tenants: a new tenant (replacing one with the same id), kept across restarts. */
export function createSyntheticTenant(spec: SyntheticTenantSpec): Tenant {
  // A tenant made again under the same id starts afresh: nothing of the earlier one comes back.
  if (directory.tenants.has(tenantIdOf(spec))) unpersistTenant(tenantIdOf(spec));
  const tenant = buildSyntheticTenant(spec);
  persist("syntheticTenant", tenant.id, { ...spec, tenantId: tenant.id, createdAt: Date.now() } satisfies StoredSyntheticTenant);
  return tenant;
}

/** The tenant itself, in memory only (restore.ts rebuilds kept tenants with it). */
export function buildSyntheticTenant(spec: SyntheticTenantSpec): Tenant {
  const seed = spec.seed ?? 1;
  const tenantId = tenantIdOf(spec);
  const prefix = fnv1a(`${tenantId}:${seed}`);
  const domain = spec.domain ?? `synthetic${seed}.example`;
  const percent = spec.disabledPercent ?? 0;
  const disabledEvery = percent > 0 ? Math.max(1, Math.round(100 / percent)) : 0;
  const groupIds = Array.from({ length: spec.groups ?? 0 }, (_, g) => syntheticId(prefix, "group", g));

  const baseUser = (i: number): DirectoryUser => ({
    id: syntheticId(prefix, "user", i),
    tenantId,
    displayName: i === 0 ? "Synthetic Admin" : `Synthetic User ${i}`,
    userPrincipalName: `user${i}@${domain}`,
    mail: `user${i}@${domain}`,
    userType: "Member",
    accountEnabled: !(disabledEvery > 0 && i > 0 && (i + 1) % disabledEvery === 0),
    globalAdmin: i === 0,
    groups: groupIds.length > 0 ? [groupIds[i % groupIds.length]!] : [],
  });

  const baseIndexOf = (key: string): number | undefined => {
    const byId = SYNTHETIC_ID.exec(key);
    let index: number | undefined;
    if (byId && parseInt(byId[1]!, 16) === prefix) index = parseInt(byId[2]!, 16);
    const byUpn = /^user(\d+)@(.+)$/.exec(key);
    if (byUpn && byUpn[2] === domain.toLowerCase()) index = Number(byUpn[1]);
    return index !== undefined && index < spec.users ? index : undefined;
  };

  return addTenant({
    id: tenantId,
    displayName: spec.displayName ?? `Synthetic ${spec.users} (${domain})`,
    // Every tenant has its initial *.onmicrosoft.com domain beside the custom one its people use
    // (https://learn.microsoft.com/en-us/graph/api/resources/verifieddomain: isInitial), so a new
    // connection chooses the people's domain for the sync scope and leaves the initial one out.
    verifiedDomains: [
      { name: domain, isDefault: true, isInitial: false },
      { name: `synthetic${prefix.toString(16)}.onmicrosoft.com`, isDefault: false, isInitial: true },
    ],
    baseCount: spec.users,
    baseUser,
    baseIndexOf,
    groups: groupIds.map((id, g) => ({ id, tenantId, displayName: `Synthetic Group ${g}`, memberOf: [] })),
    synthetic: { groupIds },
  });
}

function tenantIdOf(spec: SyntheticTenantSpec): string {
  return (spec.tenantId ?? deriveTenantId(spec.seed ?? 1, spec.users)).toLowerCase();
}

function deriveTenantId(seed: number, users: number): string {
  const a = fnv1a(`tenant:${seed}:${users}`);
  const b = fnv1a(`tenant-b:${seed}:${users}`);
  return `${hex(a, 8)}-${hex(b >>> 16, 4)}-4${hex(b, 3)}-a${hex(a >>> 4, 3)}-${hex(b, 8)}${hex(a, 4)}`;
}
