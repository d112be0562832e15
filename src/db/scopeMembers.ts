// Members who leave or come back into the sync scope when an Owner or Admin changes it (issue 20):
// set-based statements over a JSON list of user ids, guarded in SQL as directory sync's are
// (syncMembers.ts): only active members are deactivated, an Owner only while another active Owner
// remains (so the last one stays), never a member deactivated by hand; only members deactivated for
// leaving the scope come back. Audit rows and webhook events are written by the same guard, before
// the update, in the same batch; sessions end in it too.
import { sql, type SQL } from "drizzle-orm";
import { auditStatement } from "./audit.ts";
import type { Db } from "./client.ts";
import { memberStandingEvents } from "./outbox.ts";
import { statement } from "./statements.ts";

/** The listed users' memberships in the organization (`m`), one primary-key lookup each. */
function listed(organizationId: string, userIds: readonly string[]): SQL {
  return sql`json_each(${JSON.stringify(userIds)}) l cross join memberships m indexed by sqlite_autoindex_memberships_1
    on m.organization_id = ${organizationId} and m.user_id = l.value`;
}

/** Active, and not the last active Owner. */
const leaving = (organizationId: string) => sql`m.status = 'active' and (m.role != 'owner' or exists (
  select 1 from memberships other where other.organization_id = ${organizationId} and other.user_id != m.user_id
    and other.role = 'owner' and other.status = 'active'))`;

/**
 * The audit row of each member a scope change moves (memberships `m`), written before the update
 * that moves them: leaving and coming back are audited alike, by whoever changed the scope.
 */
function scopeAudit(
  db: Db,
  change: { organizationId: string; actorUserId: string | null; now: number },
  action: "member.deactivated" | "member.reactivated",
  details: SQL,
  rows: { from: SQL; where: SQL },
) {
  const { organizationId, actorUserId, now } = change;
  return auditStatement(
    db,
    { organizationId, actorUserId, action, targetUserId: sql`m.user_id`, details, now },
    sql`from ${rows.from} where ${rows.where}`,
  );
}

/**
 * Deactivates the listed members with the reason "left the sync scope" and ends their sessions.
 * Owners are changed one statement at a time by the caller (a list of one), so that of several
 * Owners leaving at once the last one always stays: the guard reads the table as it is.
 */
export function deactivateLeftScope(
  db: Db,
  change: { organizationId: string; userIds: readonly string[]; actorUserId: string | null; now: number; runId?: string },
) {
  const { organizationId, userIds, actorUserId, now } = change;
  // A run's change carries its id (the run history's counts, Undo); a scope applied on the page has none.
  const runId = change.runId ?? null;
  const from = listed(organizationId, userIds);
  const where = leaving(organizationId);
  return [
    scopeAudit(db, change, "member.deactivated", sql`json_object('reason', 'left_scope', 'runId', ${runId})`, { from, where }),
    // The public words: directory sync deactivated them; no Entra account state is the reason, so
    // `directory_reason` is null (docs/events.md), and the Owner or Admin who changed the scope acted.
    statement(
      db,
      memberStandingEvents(
        "member.deactivated",
        change,
        { cause: "directory_sync", directory_reason: null, run_id: runId, actor_user_id: actorUserId },
        { from, where },
      ),
    ),
    statement(
      db,
      sql`delete from sessions where organization_id = ${organizationId} and user_id in (
        select m.user_id from ${from} where ${where})`,
    ),
    statement(
      db,
      sql`update memberships as m set status = 'deactivated', deactivated_reason = 'left_scope', deactivated_at = ${now},
          deactivated_by_run = ${runId}
        where m.organization_id = ${organizationId} and m.user_id in (select value from json_each(${JSON.stringify(userIds)}))
          and ${where}`,
    ),
  ] as const;
}

/** Reactivates the listed members who had been deactivated for leaving the scope (and only those). */
export function reactivateBackInScope(
  db: Db,
  change: { organizationId: string; userIds: readonly string[]; actorUserId: string | null; now: number; runId?: string },
) {
  const { organizationId, userIds, actorUserId } = change;
  // A run's change carries its id (the run history's counts, Undo); a scope applied on the page has none.
  const runId = change.runId ?? null;
  const from = listed(organizationId, userIds);
  const where = sql`m.status = 'deactivated' and m.deactivated_reason = 'left_scope'`;
  return [
    scopeAudit(db, change, "member.reactivated", sql`json_object('reason', 'back_in_scope')`, { from, where }),
    statement(
      db,
      memberStandingEvents(
        "member.reactivated",
        change,
        { cause: "directory_sync", run_id: runId, actor_user_id: actorUserId },
        { from, where },
      ),
    ),
    statement(
      db,
      sql`update memberships as m set status = 'active', deactivated_reason = null, deactivated_at = null, deactivated_by_run = null
        where m.organization_id = ${organizationId} and m.user_id in (select value from json_each(${JSON.stringify(userIds)}))
          and m.status = 'deactivated' and m.deactivated_reason = 'left_scope'`,
    ),
  ] as const;
}

/**
 * The organization's members linked to the tenant, with how they stand: what a scope change is
 * judged against. One statement; the organization's linked members at Import sizes (the caller
 * bounds the directory read the same way).
 */
export function listLinkedStandings(db: Db, organizationId: string, tenantId: string) {
  return db.all<{ user_id: string; oid: string; name: string; role: string; status: string; reason: string | null }>(sql`
    select m.user_id as user_id, i.subject as oid, u.display_name as name, m.role as role, m.status as status,
      m.deactivated_reason as reason
    from identities i
    cross join memberships m on m.organization_id = ${organizationId} and m.user_id = i.user_id
    cross join users u on u.id = m.user_id
    where i.provider = 'microsoft' and i.issuer_key = ${tenantId}`);
}

/**
 * The organization's members linked to the tenant, in user id order, `limit` after `afterUserId`:
 * what a run's scope check judges (their object id, and the sign-in name they were linked with).
 */
export function listScopeStandings(db: Db, organizationId: string, tenantId: string, afterUserId: string, limit: number) {
  return db.all<{ user_id: string; oid: string; email: string | null; role: string; status: string; reason: string | null }>(sql`
    select m.user_id as user_id, min(i.subject) as oid, u.email as email, m.role as role, m.status as status,
      m.deactivated_reason as reason
    from memberships m
    cross join identities i on i.user_id = m.user_id and i.provider = 'microsoft' and i.issuer_key = ${tenantId}
    cross join users u on u.id = m.user_id
    where m.organization_id = ${organizationId} and m.user_id > ${afterUserId}
    group by m.user_id
    order by m.user_id
    limit ${limit}`);
}
