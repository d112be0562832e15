// Movers' own state (migrations/0022): where the group delta stands, the /groups subscription, and
// the linked members a group change may move. Never memberships columns (the shared plan).
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { entraConnections, groupDeltaLinks, groupSubscriptions, type MappableRole, type Role } from "./schema.ts";

export async function findGroupDeltaLink(db: Db, organizationId: string): Promise<{ tenantId: string; deltaLinkEnc: string } | null> {
  const [row] = await db
    .select({ tenantId: groupDeltaLinks.tenantId, deltaLinkEnc: groupDeltaLinks.deltaLinkEnc })
    .from(groupDeltaLinks)
    .where(eq(groupDeltaLinks.organizationId, organizationId));
  return row ?? null;
}

export function saveGroupDeltaLink(db: Db, row: { organizationId: string; tenantId: string; deltaLinkEnc: string; now: number }) {
  const values = { tenantId: row.tenantId, deltaLinkEnc: row.deltaLinkEnc, updatedAt: row.now };
  return db
    .insert(groupDeltaLinks)
    .values({ organizationId: row.organizationId, ...values })
    .onConflictDoUpdate({ target: groupDeltaLinks.organizationId, set: values });
}

export interface RoleCandidate {
  userId: string;
  oid: string;
  role: Role;
}

/**
 * The active members linked to the tenant among `oids` (the users a group change named), with their
 * role: one probe of the identities index per oid and one memberships primary-key read per match.
 */
export async function findActiveLinkedMembers(db: Db, organizationId: string, tenantId: string, oids: string[]): Promise<RoleCandidate[]> {
  if (oids.length === 0) return [];
  const rows = await db.all<{ oid: string; user_id: string; role: Role }>(sql`
    select i.subject as oid, m.user_id as user_id, m.role as role
    from json_each(${JSON.stringify(oids)}) changed
    cross join identities i on i.provider = 'microsoft' and i.issuer_key = ${tenantId} and i.subject = changed.value
    cross join memberships m on m.organization_id = ${organizationId} and m.user_id = i.user_id
    where m.status = 'active'`);
  return rows.map((row) => ({ userId: row.user_id, oid: row.oid, role: row.role }));
}

// --- The /groups subscription ------------------------------------------------------------------

export async function findGroupSubscription(db: Db, organizationId: string) {
  const [row] = await db.select().from(groupSubscriptions).where(eq(groupSubscriptions.organizationId, organizationId));
  return row ?? null;
}

export function saveGroupSubscription(
  db: Db,
  row: { organizationId: string; tenantId: string; subscriptionId: string; clientStateEnc: string; expiresAt: number; now: number },
) {
  const values = {
    tenantId: row.tenantId,
    subscriptionId: row.subscriptionId,
    clientStateEnc: row.clientStateEnc,
    expiresAt: row.expiresAt,
    updatedAt: row.now,
  };
  return db
    .insert(groupSubscriptions)
    .values({ organizationId: row.organizationId, ...values })
    .onConflictDoUpdate({ target: groupSubscriptions.organizationId, set: values });
}

export function saveGroupSubscriptionRenewed(db: Db, organizationId: string, subscriptionId: string, expiresAt: number, now: number) {
  return db
    .update(groupSubscriptions)
    .set({ expiresAt, updatedAt: now })
    .where(and(eq(groupSubscriptions.organizationId, organizationId), eq(groupSubscriptions.subscriptionId, subscriptionId)));
}

export function deleteGroupSubscriptionRow(db: Db, organizationId: string) {
  return db.delete(groupSubscriptions).where(eq(groupSubscriptions.organizationId, organizationId));
}

/** Whether Group → Role mapping is on, and the default role: what the role step of a run needs. */
export async function findRoleSettings(db: Db, organizationId: string): Promise<{ mapping: boolean; defaultRole: MappableRole }> {
  const [row] = await db
    .select({ mapping: entraConnections.groupRoleMapping, defaultRole: entraConnections.defaultRole, status: entraConnections.status })
    .from(entraConnections)
    .where(eq(entraConnections.organizationId, organizationId));
  return { mapping: row?.status === "connected" && row.mapping, defaultRole: row?.defaultRole ?? "member" };
}

/**
 * Whether the member's role is the directory's: Group → Role mapping is on and they are linked to
 * the connected tenant. Then a hand change to a mapped role is refused (src/people/members.ts).
 */
export async function roleFollowsDirectory(db: Db, organizationId: string, userId: string): Promise<boolean> {
  const rows = await db.all<{ one: number }>(sql`
    select 1 as one from entra_connections c
    join identities i on i.provider = 'microsoft' and i.issuer_key = c.tenant_id and i.user_id = ${userId}
    where c.organization_id = ${organizationId} and c.status = 'connected' and c.group_role_mapping = 1
    limit 1`);
  return rows.length > 0;
}
