// Joiners (issue 20): people of the tenant a directory sync run adds while "Add new people
// automatically" is on. Who on a page of users is not a member yet; the writes that add one
// person (race-safe as bulk import's: whichever user holds the (tid, oid) identity gets the
// membership, a user row that lost the race is removed), each with its audit row and its
// member.created event only when this run made the membership; and the run's count.
import { sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { memberEventsFor, memberStandingEvents } from "./outbox.ts";
import { linkPersonStatements, type ImportedPerson } from "./importedMembers.ts";
import { statement } from "./statements.ts";

/**
 * Of a page's enabled object ids, those with no membership in the organization through a Microsoft
 * identity of the tenant: the candidates. One statement per page (primary-key probes).
 */
export async function findUnlinkedAmong(db: Db, organizationId: string, tenantId: string, oids: readonly string[]): Promise<string[]> {
  if (oids.length === 0) return [];
  const rows = await db.all<{ oid: string }>(sql`
    select p.value as oid from json_each(${JSON.stringify(oids)}) p
    where not exists (
      select 1 from identities i join memberships m on m.organization_id = ${organizationId} and m.user_id = i.user_id
      where i.provider = 'microsoft' and i.issuer_key = ${tenantId} and i.subject = p.value)`);
  return rows.map((row) => row.oid);
}

/**
 * The writes that add a batch of people to the organization, linked by their object id, for run
 * `runId`: each person's own (user, identity, membership, role decision: importedMembers.ts), then
 * three for the whole batch: the audit rows, the member.created events and the run's count, each
 * for the memberships these writes made (made at `now`; a person already a member is none of them).
 * One INSERT for all the batch's audit rows updates audit_events' AUTOINCREMENT counter once, not
 * once a person (the joiner_sync bench's rows written per joiner, migrations/0027).
 */
export function addJoinersStatements(
  organizationId: string,
  tenantId: string,
  runId: string,
  people: readonly ImportedPerson[],
  now: number,
): SQL[] {
  const listed = JSON.stringify(people.map((p) => ({ oid: p.oid, role: p.role, email: p.email, rule: p.decision?.rule ?? "default" })));
  // The batch's people (`p`) who are members made now: identity `i`, membership `m`, user `u`.
  const made = sql`json_each(${listed}) p
    cross join identities i on i.provider = 'microsoft' and i.issuer_key = ${tenantId} and i.subject = json_extract(p.value, '$.oid')
    cross join memberships m on m.organization_id = ${organizationId} and m.user_id = i.user_id
    cross join users u on u.id = i.user_id`;
  const ours = sql`m.created_at = ${now}`;
  return [
    ...people.flatMap((person) => linkPersonStatements(organizationId, tenantId, person, now, () => [])),
    sql`insert into audit_events (organization_id, actor_user_id, action, target_user_id, details, created_at)
      select ${organizationId}, null, 'entra.user_added', i.user_id,
        json_object('role', json_extract(p.value, '$.role'), 'upn', json_extract(p.value, '$.email'), 'runId', ${runId},
          'rule', json_extract(p.value, '$.rule')), ${now}
      from ${made} where ${ours}`,
    memberEventsFor(
      "member.created",
      { organizationId, now },
      { role: sql`m.role`, cause: "directory", run_id: runId, actor_user_id: null },
      { from: made, where: ours },
    ),
    sql`update sync_runs set added = added + (select count(*) from ${made} where ${ours}) where id = ${runId}`,
  ];
}

/**
 * Undo of a run's additions: the people it added (its entra.user_added audit rows) who are still
 * active are deactivated by hand, as an Owner's or Admin's Undo, not removed: their account,
 * identity and everything they did since stay, and reactivating them restores it all. Owners are
 * left alone (someone made them Owner since). Audited, member.deactivated, sessions ended.
 */
export function deactivateAddedByRun(db: Db, change: { organizationId: string; runId: string; actorUserId: string; now: number }) {
  const { organizationId, runId, actorUserId, now } = change;
  const added = sql`(select a.target_user_id from audit_events a indexed by audit_events_org
    where a.organization_id = ${organizationId} and a.action = 'entra.user_added' and json_extract(a.details, '$.runId') = ${runId})`;
  const where = sql`m.organization_id = ${organizationId} and m.status = 'active' and m.role != 'owner' and m.user_id in ${added}`;
  return [
    statement(
      db,
      sql`insert into audit_events (organization_id, actor_user_id, action, target_user_id, details, created_at)
        select ${organizationId}, ${actorUserId}, 'member.deactivated', m.user_id, json_object('reason', 'by_hand', 'undo', ${runId}), ${now}
        from memberships m where ${where}`,
    ),
    statement(
      db,
      memberStandingEvents(
        "member.deactivated",
        change,
        { cause: "by_hand", directory_reason: null, run_id: runId, actor_user_id: actorUserId },
        { from: sql`memberships m`, where },
      ),
    ),
    statement(
      db,
      sql`delete from sessions where organization_id = ${organizationId} and user_id in (select m.user_id from memberships m where ${where})`,
    ),
    statement(
      db,
      sql`update memberships as m set status = 'deactivated', deactivated_reason = 'by_hand', deactivated_at = ${now}, deactivated_by_run = null
        where ${where}`,
    ),
  ];
}

/** People per statement when a held list is written: their JSON stays well under D1's statement limits. */
const HELD_PER_STATEMENT = 200;

/** A run's additions held by the threshold replace any held before (a later run's decision is the current one). */
export function holdJoinerStatements(db: Db, organizationId: string, runId: string, people: readonly ImportedPerson[]) {
  const writes = [statement(db, sql`delete from sync_held_joiners where organization_id = ${organizationId}`)];
  for (let i = 0; i < people.length; i += HELD_PER_STATEMENT) {
    const chunk = JSON.stringify(people.slice(i, i + HELD_PER_STATEMENT));
    writes.push(
      statement(
        db,
        sql`insert into sync_held_joiners (organization_id, oid, run_id, person)
          select ${organizationId}, json_extract(value, '$.oid'), ${runId}, value from json_each(${chunk}) where true
          on conflict (organization_id, oid) do update set run_id = excluded.run_id, person = excluded.person`,
      ),
    );
  }
  return writes;
}

/** The held additions: how many, the run, and the first names (the page's list). */
export async function heldJoinersSummary(db: Db, organizationId: string) {
  const [row] = await db.all<{ n: number; run_id: string | null; names: string | null }>(sql`
    select count(*) as n, max(run_id) as run_id,
      (select json_group_array(json_extract(person, '$.displayName')) from
        (select person from sync_held_joiners where organization_id = ${organizationId} order by json_extract(person, '$.displayName') limit 20)) as names
    from sync_held_joiners where organization_id = ${organizationId}`);
  return { count: row?.n ?? 0, runId: row?.run_id ?? null, names: row?.names ? (JSON.parse(row.names) as string[]) : [] };
}

/** Held people, `limit` at a time in object id order. */
export async function listHeldJoiners(db: Db, organizationId: string, afterOid: string, limit: number) {
  const rows = await db.all<{ oid: string; run_id: string; person: string }>(sql`
    select oid, run_id, person from sync_held_joiners where organization_id = ${organizationId} and oid > ${afterOid}
    order by oid limit ${limit}`);
  return rows.map((row) => ({ oid: row.oid, runId: row.run_id, person: JSON.parse(row.person) as ImportedPerson }));
}

export function forgetHeldJoiners(db: Db, organizationId: string, oids?: readonly string[]) {
  return statement(
    db,
    oids
      ? sql`delete from sync_held_joiners where organization_id = ${organizationId} and oid in (select value from json_each(${JSON.stringify(oids)}))`
      : sql`delete from sync_held_joiners where organization_id = ${organizationId}`,
  );
}
