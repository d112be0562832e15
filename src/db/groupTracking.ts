// Movers' own state (migrations/0022): where the group delta stands, the /groups subscription, and
// the linked members a group change may move. Never memberships columns (the shared plan).
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { createdSubscriptionValues, type CreatedSubscription } from "./realtimeSubscriptions.ts";
import { entraConnections, groupDeltaLinks, groupSubscriptions, runRoleChanges, users, type MappableRole, type Role } from "./schema.ts";

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
    -- Unary +: the status is tested on the row the primary key finds; as an index term it would make
    -- SQLite scan memberships_by_status (every active member of the organization) for each candidate.
    where +m.status = 'active'`);
  return rows.map((row) => ({ userId: row.user_id, oid: row.oid, role: row.role }));
}

// --- The /groups subscription ------------------------------------------------------------------

export async function findGroupSubscription(db: Db, organizationId: string) {
  const [row] = await db.select().from(groupSubscriptions).where(eq(groupSubscriptions.organizationId, organizationId));
  return row ?? null;
}

export function saveGroupSubscription(db: Db, row: CreatedSubscription) {
  const values = createdSubscriptionValues(row);
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

export interface RoleSettings {
  mapping: boolean;
  defaultRole: MappableRole;
  /** The hold threshold of deactivations, applied to lowered roles too, and its denominator. */
  threshold: { percent: number; minimum: number };
  linkedActiveMembers: number;
}

/** Whether Group → Role mapping is on, the default role and the hold threshold: what the role step of a run needs. */
export async function findRoleSettings(db: Db, organizationId: string): Promise<RoleSettings> {
  const [row] = await db
    .select({
      mapping: entraConnections.groupRoleMapping,
      defaultRole: entraConnections.defaultRole,
      status: entraConnections.status,
      percent: entraConnections.holdThresholdPercent,
      minimum: entraConnections.holdThresholdMinimum,
      linked: entraConnections.linkedActiveMembers,
    })
    .from(entraConnections)
    .where(eq(entraConnections.organizationId, organizationId));
  return {
    mapping: row?.status === "connected" && row.mapping,
    defaultRole: row?.defaultRole ?? "member",
    threshold: { percent: row?.percent ?? 10, minimum: row?.minimum ?? 5 },
    linkedActiveMembers: row?.linked ?? 0,
  };
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

// --- A run's role changes (Undo, and a held run's Apply/Dismiss) ---------------------------------

export type RoleChangeState = "held" | "applied" | "dismissed" | "undone";

export interface RunRoleChange {
  userId: string;
  fromRole: MappableRole;
  toRole: MappableRole;
  decidingGroup: { id: string; name: string } | null;
  rule: "group" | "default";
}

/** One statement, one bound JSON parameter, however many changes (D1 binds at most 100 a statement). */
export function insertRunRoleChanges(
  run: { runId: string; organizationId: string; state: RoleChangeState; now: number },
  changes: RunRoleChange[],
) {
  const rows = changes.map((c) => [c.userId, c.fromRole, c.toRole, c.decidingGroup ? JSON.stringify(c.decidingGroup) : null, c.rule]);
  return sql`insert into run_role_changes (run_id, organization_id, user_id, from_role, to_role, deciding_group, rule, state, decided_at, was_held)
    select ${run.runId}, ${run.organizationId}, r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4, ${run.state}, ${run.now},
      ${run.state === "held" ? 1 : 0}
    from json_each(${JSON.stringify(rows)}) r
    where true -- SQLite needs a WHERE between INSERT … SELECT and its upsert clause
    on conflict (run_id, user_id) do update set to_role = excluded.to_role, deciding_group = excluded.deciding_group,
      rule = excluded.rule, state = excluded.state, decided_at = excluded.decided_at`;
}

/** A run's changes in one state, with each member's role now (Apply and Undo act only where it is unchanged). */
export function findRunRoleChanges(db: Db, organizationId: string, runId: string, state: RoleChangeState) {
  return db.all<{
    user_id: string;
    from_role: MappableRole;
    to_role: MappableRole;
    deciding_group: string | null;
    rule: "group" | "default";
    role_now: Role | null;
  }>(sql`
    select c.user_id, c.from_role, c.to_role, c.deciding_group, c.rule,
      (select m.role from memberships m where m.organization_id = c.organization_id and m.user_id = c.user_id and m.status = 'active') as role_now
    from run_role_changes c where c.organization_id = ${organizationId} and c.run_id = ${runId} and c.state = ${state}`);
}

export function setRunRoleChangesState(
  db: Db,
  change: { organizationId: string; runId: string; from: RoleChangeState; to: RoleChangeState; userIds?: string[] },
) {
  return db
    .update(runRoleChanges)
    .set({ state: change.to })
    .where(
      and(
        eq(runRoleChanges.organizationId, change.organizationId),
        eq(runRoleChanges.runId, change.runId),
        eq(runRoleChanges.state, change.from),
        ...(change.userIds ? [inArray(runRoleChanges.userId, change.userIds)] : []),
      ),
    );
}

/** The role changes of the organization's latest runs that changed or held any (the page), newest first. */
export function listRecentRoleChanges(db: Db, organizationId: string, limit = 200) {
  return db
    .select({
      runId: runRoleChanges.runId,
      userId: runRoleChanges.userId,
      displayName: users.displayName,
      email: users.email,
      fromRole: runRoleChanges.fromRole,
      toRole: runRoleChanges.toRole,
      decidingGroup: runRoleChanges.decidingGroup,
      rule: runRoleChanges.rule,
      state: runRoleChanges.state,
      decidedAt: runRoleChanges.decidedAt,
    })
    .from(runRoleChanges)
    .innerJoin(users, eq(users.id, runRoleChanges.userId))
    .where(eq(runRoleChanges.organizationId, organizationId))
    .orderBy(desc(runRoleChanges.decidedAt), desc(runRoleChanges.runId), users.displayName)
    .limit(limit);
}
