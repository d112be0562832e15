// The members directory sync may touch: those of one organization linked to its connected tenant
// by a Microsoft identity (issuer_key = tenant id). Changes are set-based statements over a list
// of user ids (a JSON chunk, read from a saved list when it is long), each guarded in SQL: only active members
// are deactivated, only members that sync deactivated are reactivated, and an Owner only while
// another active Owner remains. Every statement here is idempotent, so a retried Workflow step
// changes nothing twice. Audit rows are inserted by the same guard just before each update, in
// the same batch (a transaction), so the log names exactly who changed; their webhook events
// (outbox.ts) are one more statement with the same guard, in the same place.
// Joins from a list of ids are CROSS JOINs: SQLite then keeps the list as the outer loop and
// looks each id up by primary key, instead of scanning the organization once per listed id.
import { sql, type SQL } from "drizzle-orm";
import { auditStatement, insertAuditEventsFor } from "./audit.ts";
import type { Db } from "./client.ts";
import { memberStandingEvents } from "./outbox.ts";
import { anotherActiveOwner } from "./members.ts";
import type { SyncCause } from "./schema.ts";
import { statement } from "./statements.ts";

/**
 * How a linked member stands before the run: active, deactivated by sync for their account
 * ("sync") or for leaving the sync scope ("left_scope"), or by hand; "held" is an active member on
 * the list of the held run this run waits behind (concludeRun.ts), "held_scope" one it lists as
 * having left the scope: Apply or Dismiss decides about them, and this run only notes whether they
 * are back (enabled again, or in the scope again).
 */
export type MemberStanding = "active" | "sync" | "left_scope" | "by_hand" | "held" | "held_scope";

/** Why the held run's list deactivates the member (its cause), or null: not on it, or no run is held. */
const onHeldList = (heldRunId: string | null, userId: SQL) =>
  heldRunId
    ? sql`(select c.cause from sync_run_changes c where c.run_id = ${heldRunId} and c.user_id = ${userId} and c.change = 'deactivate')`
    : sql`null`;

/** A member's standing from their membership row and the held run's cause for them. */
export function standingOf(row: { status: string; reason: string | null; held: string | null }): MemberStanding {
  if (row.status === "active") return row.held ? (row.held === "left_scope" ? "held_scope" : "held") : "active";
  return row.reason === "directory_sync" ? "sync" : row.reason === "left_scope" ? "left_scope" : "by_hand";
}

interface LinkedMember {
  oid: string;
  userId: string;
  standing: MemberStanding;
}

/**
 * The organization's members among a page of Entra object ids (one statement per page); with
 * `heldRunId`, those on that held run's list stand "held".
 */
export async function findLinkedMembersAmong(
  db: Db,
  organizationId: string,
  tenantId: string,
  oids: string[],
  heldRunId: string | null = null,
): Promise<LinkedMember[]> {
  if (oids.length === 0) return [];
  const rows = await db.all<{ oid: string; user_id: string; status: string; reason: string | null; held: string | null }>(sql`
    select i.subject as oid, m.user_id as user_id, m.status as status, m.deactivated_reason as reason,
      ${onHeldList(heldRunId, sql`m.user_id`)} as held
    from json_each(${JSON.stringify(oids)}) page
    cross join identities i on i.provider = 'microsoft' and i.issuer_key = ${tenantId} and i.subject = page.value
    cross join memberships m on m.organization_id = ${organizationId} and m.user_id = i.user_id`);
  return rows.map((row) => ({ oid: row.oid, userId: row.user_id, standing: standingOf(row) }));
}

/**
 * The members a full listing judges, in user id order, `limit` at a time after `afterUserId`:
 * active ones (they may have left) and those sync deactivated, for their account or for leaving the
 * scope (they may be back), each with the
 * object ids linking them to the tenant (space-separated; nearly always one). `settled` says
 * whether the member and their Microsoft identity both existed before `listedSince`: only those
 * were linked when every page was read, so only they are judged. Someone who joins during a long
 * run was on a page read before they were linked (or read as disabled before being enabled).
 * Reads the memberships table on its key (WITHOUT ROWID: the key's b-tree holds every column,
 * migrations/0027) and identities' covering index: one entry per member and one per identity. With `heldRunId` (the run waits behind that held run), `held` says who is on its list,
 * one probe of sync_run_changes' primary key per member.
 */
export function listMembersToJudge(
  db: Db,
  page: { organizationId: string; tenantId: string; afterUserId: string; limit: number; listedSince: number; heldRunId: string | null },
) {
  const { organizationId, tenantId, afterUserId, limit, listedSince, heldRunId } = page;
  return db.all<{ user_id: string; oids: string; status: string; reason: string | null; settled: number; held: string | null }>(sql`
    select m.user_id as user_id, group_concat(i.subject, ' ') as oids, m.status as status, m.deactivated_reason as reason,
      (m.created_at < ${listedSince} and min(i.created_at) < ${listedSince}) as settled,
      ${onHeldList(heldRunId, sql`m.user_id`)} as held
    from memberships m
    cross join identities i on i.user_id = m.user_id and i.provider = 'microsoft' and i.issuer_key = ${tenantId}
    where m.organization_id = ${organizationId} and m.user_id > ${afterUserId}
      and (m.status = 'active' or m.deactivated_reason in ('directory_sync', 'left_scope'))
    group by m.user_id
    order by m.user_id
    limit ${limit}`);
}

/** A list of [userId, cause] pairs as a subquery: a JSON chunk, or a held run's saved list. */
export function changeListFromJson(entries: [string, SyncCause][]): SQL {
  return sql`select json_extract(value, '$[0]') as user_id, json_extract(value, '$[1]') as cause from json_each(${JSON.stringify(entries)})`;
}

/** A saved list (held, previewed, or too long to keep in memory), 2,000 or so at a time in user id order. */
export async function listSavedChanges(
  db: Db,
  page: { runId: string; change: "deactivate" | "reactivate"; afterUserId: string; limit: number },
): Promise<[string, SyncCause][]> {
  const rows = await db.all<{ user_id: string; cause: SyncCause }>(sql`
    select user_id, cause from sync_run_changes
    where run_id = ${page.runId} and user_id > ${page.afterUserId} and change = ${page.change}
    order by user_id limit ${page.limit}`);
  return rows.map((row) => [row.user_id, row.cause]);
}

/** Forgets a run's saved list: a retried conclude step writes it again from the start. */
export function clearRunChanges(db: Db, runId: string) {
  return statement(db, sql`delete from sync_run_changes where run_id = ${runId}`);
}

/** The listed users (`l`, with their cause) joined to their memberships in the organization (`m`). */
function listedMemberships(organizationId: string, list: SQL): SQL {
  // The primary key, named: with the Users page's indexes (which lead with organization and status
  // or role) SQLite would otherwise search every active member once per listed user
  // (EXPLAIN QUERY PLAN: "SEARCH m USING COVERING INDEX memberships_by_status (organization_id=? AND status=?)").
  return sql`(${list}) l cross join memberships m indexed by sqlite_autoindex_memberships_1
    on m.organization_id = ${organizationId} and m.user_id = l.user_id`;
}

// The two UPDATEs below name the primary key's index (organization, user id): the listed members
// are looked up one by one. Left to itself, SQLite would rather scan a covering Users page index
// (migrations/0008) over every member of the organization, 100k rows for a handful of changes.

/**
 * Deactivates the listed active members who are not Owners, audits each, ends their sessions.
 * Owners go one by one through `deactivateOwnerStatements`, so the last one is always kept.
 */
export function deactivateListedMembers(db: Db, change: { organizationId: string; runId: string; now: number; list: SQL }) {
  const { organizationId, runId, now, list } = change;
  const leavers = { from: listedMemberships(organizationId, list), where: sql`m.status = 'active' and m.role != 'owner'` };
  return [
    statement(db, bySyncAudit(change, "member.deactivated", sql`l.cause`, sql`from ${leavers.from} where ${leavers.where}`)),
    statement(db, memberStandingEvents("member.deactivated", change, bySync(runId, sql`l.cause`), leavers)),
    statement(
      db,
      sql`
      update memberships indexed by sqlite_autoindex_memberships_1
      set status = 'deactivated', deactivated_at = ${now}, deactivated_by_run = ${runId},
        deactivated_reason = case when user_id in (select user_id from (${list}) where cause = 'left_scope') then 'left_scope' else 'directory_sync' end
      where organization_id = ${organizationId} and status = 'active' and role != 'owner'
        and user_id in (select user_id from (${list}))`,
    ),
    endSessionsOfRun(db, organizationId, runId),
  ] as const;
}

/** Listed active Owners: each is deactivated on its own, only while another active Owner remains. */
export function listListedOwners(db: Db, organizationId: string, list: SQL) {
  return db.all<{ user_id: string; cause: SyncCause }>(sql`
    select m.user_id as user_id, l.cause as cause
    from ${listedMemberships(organizationId, list)}
    where m.status = 'active' and m.role = 'owner'`);
}

export function deactivateOwnerStatements(
  db: Db,
  change: { organizationId: string; runId: string; now: number; userId: string; cause: SyncCause },
) {
  const { organizationId, runId, now, userId, cause } = change;
  const guard = sql`m.organization_id = ${organizationId} and m.user_id = ${userId} and m.status = 'active' and ${anotherActiveOwner(organizationId, userId)}`;
  return [
    statement(db, bySyncAudit(change, "member.deactivated", sql`${cause}`, sql`from memberships m where ${guard}`)),
    statement(
      db,
      memberStandingEvents("member.deactivated", change, bySync(runId, sql`${cause}`), { from: sql`memberships m`, where: guard }),
    ),
    statement(
      db,
      sql`
      update memberships as m set status = 'deactivated', deactivated_reason = ${reasonOf(cause)}, deactivated_at = ${now},
        deactivated_by_run = ${runId}
      where ${guard}`,
    ),
    endSessionsOfRun(db, organizationId, runId),
  ] as const;
}

/**
 * The audit rows of directory sync (no actor) changing the members `rows` yields (memberships `m`),
 * written before the update that changes them; `cause` says why the directory did.
 */
function bySyncAudit(
  change: { organizationId: string; runId: string; now: number },
  action: "member.deactivated" | "member.reactivated",
  cause: SQL,
  rows: SQL,
) {
  const { organizationId, runId, now } = change;
  return insertAuditEventsFor(
    {
      organizationId,
      actorUserId: null,
      action,
      targetUserId: sql`m.user_id`,
      // A scope leaver's row says so as a scope change on the page does ('left_scope', 'back_in_scope').
      details: sql`json_object('reason', case ${cause} when 'left_scope' then 'left_scope' when 'in_scope' then 'back_in_scope'
        else 'directory_sync' end, 'cause', ${cause}, 'runId', ${runId})`,
      now,
    },
    rows,
  );
}

/**
 * A run's deactivation in the public words: directory sync, for `directoryReason`, nobody's hand.
 * Leaving the scope is no state of the Entra account: its `directory_reason` is null, as when a
 * scope change on the page deactivates (docs/events.md).
 */
function bySync(runId: string, directoryReason: SQL) {
  return {
    cause: "directory_sync",
    directory_reason: sql`nullif(${directoryReason}, 'left_scope')`,
    run_id: runId,
    actor_user_id: null,
  } as const;
}

/** memberships.deactivated_reason for a run's deactivation cause. */
const reasonOf = (cause: SyncCause) => (cause === "left_scope" ? "left_scope" : "directory_sync");

function endSessionsOfRun(db: Db, organizationId: string, runId: string) {
  return statement(
    db,
    sql`
    delete from sessions where organization_id = ${organizationId} and user_id in (
      select user_id from memberships where deactivated_by_run = ${runId} and organization_id = ${organizationId} and status = 'deactivated')`,
  );
}

/**
 * Reactivates the listed members that directory sync deactivated (for their account, or for
 * leaving the scope: the run listed each for the one that applies); never those deactivated by hand.
 */
export function reactivateListedMembers(db: Db, change: { organizationId: string; runId: string; now: number; list: SQL }) {
  const { organizationId, runId, list } = change;
  const returners = {
    from: listedMemberships(organizationId, list),
    where: sql`m.status = 'deactivated' and m.deactivated_reason in ('directory_sync', 'left_scope')`,
  };
  return [
    statement(db, bySyncAudit(change, "member.reactivated", sql`l.cause`, sql`from ${returners.from} where ${returners.where}`)),
    statement(
      db,
      memberStandingEvents("member.reactivated", change, { cause: "directory_sync", run_id: runId, actor_user_id: null }, returners),
    ),
    statement(
      db,
      sql`
      update memberships indexed by sqlite_autoindex_memberships_1
      set status = 'active', deactivated_reason = null, deactivated_at = null, deactivated_by_run = null
      where organization_id = ${organizationId} and status = 'deactivated' and deactivated_reason in ('directory_sync', 'left_scope')
        and user_id in (select user_id from (${list}))
      returning user_id`,
    ),
  ] as const;
}

/** "Undo": reactivates exactly the members this run deactivated and who are still deactivated by it. */
export function reactivateMembersOfRun(db: Db, change: { organizationId: string; runId: string; actorUserId: string; now: number }) {
  const { organizationId, runId, actorUserId, now } = change;
  const ofRun = sql`m.organization_id = ${organizationId} and m.deactivated_by_run = ${runId} and m.status = 'deactivated'`;
  return [
    auditStatement(
      db,
      {
        organizationId,
        actorUserId,
        action: "sync.run_undone",
        details: sql`json_object('runId', ${runId}, 'reactivated', (select count(*) from memberships m where ${ofRun}))`,
        now,
      },
      sql`where exists (select 1 from sync_runs where id = ${runId} and organization_id = ${organizationId} and undone_at is null)`,
    ),
    auditStatement(
      db,
      {
        organizationId,
        actorUserId,
        action: "member.reactivated",
        targetUserId: sql`m.user_id`,
        details: sql`json_object('reason', 'undo', 'runId', ${runId})`,
        now,
      },
      sql`from memberships m where ${ofRun}`,
    ),
    // An Undo is an admin's hand, with the run it undid.
    statement(
      db,
      memberStandingEvents(
        "member.reactivated",
        change,
        { cause: "by_hand", run_id: runId, actor_user_id: actorUserId },
        { from: sql`memberships m`, where: ofRun },
      ),
    ),
    statement(
      db,
      sql`
      update memberships as m set status = 'active', deactivated_reason = null, deactivated_at = null, deactivated_by_run = null
      where ${ofRun}`,
    ),
  ] as const;
}

export async function countDeactivatedByRun(db: Db, organizationId: string, runId: string): Promise<number> {
  const [row] = await db.all<{ n: number }>(sql`
    select count(*) as n from memberships where organization_id = ${organizationId} and deactivated_by_run = ${runId}`);
  return row?.n ?? 0;
}
