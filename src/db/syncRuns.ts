// Directory sync runs: one row per run (nightly, "Sync now" or "Preview"), and the list of who a
// held or previewed run would change. Status changes are guarded in SQL so two requests (or a
// retried Workflow step) cannot both move a run on.
import { and, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { auditStatement } from "./audit.ts";
import type { Db } from "./client.ts";
import { planIncludes } from "./planFeatures.ts";
import { addsNewPeopleFor, runsExistFor } from "./runEligibility.ts";
import { statement } from "./statements.ts";
import { scopeColumns } from "./syncScope.ts";
import {
  entraConnections,
  organizations,
  SYNC_TRIGGERS,
  syncRunChanges,
  syncRuns,
  personColumns,
  users,
  type PendingChanges,
  type SyncCause,
  type SyncFailure,
} from "./schema.ts";

export type SyncTrigger = (typeof SYNC_TRIGGERS)[number];
export type SyncMode = "full" | "delta";
/**
 * How the Workflow closes a run (the other statuses are set by people or by a later run);
 * "skipped": it waited behind a held run and changed nothing.
 */
export type FinishedStatus = "succeeded" | "failed" | "held" | "previewed" | "skipped";

/** What a run's Workflow instance is started with (the SYNC_WORKFLOW binding's params). */
export interface SyncRunParams {
  runId: string;
  organizationId: string;
  trigger: SyncTrigger;
  /** Nightly runs: not before this time (epoch ms), so a night's runs are spread over a window. */
  notBefore?: number;
  /**
   * Started by saving a sync scope (src/entra/scopeChange.ts): the run applies the scope's leavers
   * and returners even with Auto-deprovision sync off (only those: concludeRun.ts).
   */
  scopeChange?: true;
}

/** What the nightly fan-out's Workflow instance (NIGHTLY_WORKFLOW) is started with: the cron event's time. */
export interface NightlyParams {
  scheduledTime: number;
}

/** A run still "running" after this long died with its Workflow; it no longer blocks a new one. */
export const RUN_STALE_AFTER_MS = 12 * 60 * 60 * 1000;

/**
 * Records a new running run unless the organization already has one running (or this id exists:
 * a repeated cron event). Returns whether the run was created.
 */
export async function insertRunUnlessRunning(
  db: Db,
  run: { id: string; organizationId: string; trigger: SyncTrigger; now: number },
): Promise<boolean> {
  const rows = await db.all<{ id: string }>(sql`
    insert into sync_runs (id, organization_id, trigger, status, started_at)
    select ${run.id}, ${run.organizationId}, ${run.trigger}, 'running', ${run.now}
    where not exists (
      select 1 from sync_runs where organization_id = ${run.organizationId} and status = 'running'
        and started_at > ${run.now - RUN_STALE_AFTER_MS})
    on conflict (id) do nothing
    returning id`);
  return rows.length === 1;
}

interface RunResult {
  status: FinishedStatus;
  mode: SyncMode | null;
  usersRead: number;
  /**
   * How many members the run deactivated, when the caller has just counted them
   * (countDeactivatedByRun); otherwise counted here from the memberships, which also catches a run
   * that failed after deactivating some.
   */
  deactivated?: number;
  reactivated: number;
  graphRequests: number;
  error: SyncFailure | null;
  /** Summary of a held or previewed run: how many it would change, of how many linked. */
  pendingChanges: PendingChanges | null;
  now: number;
}

/** Closes a running run. */
export function finishRun(db: Db, organizationId: string, runId: string, result: RunResult) {
  return statement(
    db,
    db
      .update(syncRuns)
      .set({
        status: result.status,
        mode: result.mode,
        finishedAt: result.now,
        usersRead: result.usersRead,
        deactivated:
          result.deactivated ??
          sql`(select count(*) from memberships where organization_id = ${organizationId} and deactivated_by_run = ${runId})`,
        reactivated: result.reactivated,
        graphRequests: result.graphRequests,
        error: result.error,
        pendingChanges: result.pendingChanges,
        pausedUntil: null,
      })
      .where(and(eq(syncRuns.id, runId), eq(syncRuns.organizationId, organizationId), eq(syncRuns.status, "running"))),
  );
}

/**
 * Microsoft Graph throttled the run past the Graph client's retries: it sleeps and reads the same
 * page again at `until` (migrations/0032), which the Directory sync section shows.
 */
export function pauseRun(db: Db, runId: string, until: number) {
  return statement(db, sql`update sync_runs set paused_until = ${until} where id = ${runId} and status = 'running'`);
}

/** The read after a pause answered: the section no longer shows the pause. */
export function resumeRun(db: Db, runId: string) {
  return statement(db, sql`update sync_runs set paused_until = null where id = ${runId} and paused_until is not null`);
}

/** Where a page of run history starts: before this (started at, run id). */
export type RunSortKey = readonly [startedAt: number, runId: string];

/**
 * The organization's runs newest first (started at, then id, both descending), before `before`
 * when given: one range of sync_runs_org_started read backwards, stopping at the LIMIT (EXPLAIN
 * QUERY PLAN: `SEARCH sync_runs USING INDEX sync_runs_org_started (organization_id=? AND
 * (started_at,id)<(?,?))`, no temp B-tree).
 */
export function listRecentRuns(db: Db, organizationId: string, options: { limit: number; before?: RunSortKey }) {
  return db
    .select({
      id: syncRuns.id,
      trigger: syncRuns.trigger,
      mode: syncRuns.mode,
      status: syncRuns.status,
      startedAt: syncRuns.startedAt,
      finishedAt: syncRuns.finishedAt,
      usersRead: syncRuns.usersRead,
      deactivated: syncRuns.deactivated,
      reactivated: syncRuns.reactivated,
      // People the run added (Add new people automatically, issue 20).
      added: syncRuns.added,
      graphRequests: syncRuns.graphRequests,
      error: syncRuns.error,
      pendingChanges: syncRuns.pendingChanges,
      undoneAt: syncRuns.undoneAt,
      pausedUntil: syncRuns.pausedUntil,
    })
    .from(syncRuns)
    .where(
      and(
        eq(syncRuns.organizationId, organizationId),
        options.before ? sql`(${syncRuns.startedAt}, ${syncRuns.id}) < (${options.before[0]}, ${options.before[1]})` : undefined,
      ),
    )
    .orderBy(desc(syncRuns.startedAt), desc(syncRuns.id))
    .limit(options.limit);
}

export type SyncRunRow = Awaited<ReturnType<typeof listRecentRuns>>[number];

export async function findRun(db: Db, organizationId: string, runId: string) {
  const [row] = await db
    .select({
      id: syncRuns.id,
      status: syncRuns.status,
      trigger: syncRuns.trigger,
      startedAt: syncRuns.startedAt,
      error: syncRuns.error,
      pendingChanges: syncRuns.pendingChanges,
      undoneAt: syncRuns.undoneAt,
      added: syncRuns.added,
      deactivated: syncRuns.deactivated,
      reactivated: syncRuns.reactivated,
      pausedUntil: syncRuns.pausedUntil,
    })
    .from(syncRuns)
    .where(and(eq(syncRuns.id, runId), eq(syncRuns.organizationId, organizationId)))
    .limit(1);
  return row;
}

/**
 * Held → applied, once, and only while the connection still reads the tenant the run read (its
 * `pendingChanges.tenantId`) with Auto-deprovision on (or, for a run a saved scope started, its
 * list only the scope's changes: scopeChangeRun.ts). This is the first write of Apply: only the
 * request that wins it changes members, so a concurrent Dismiss or a later run cannot lose to it.
 */
export function claimHeldRun(db: Db, organizationId: string, runId: string, userId: string) {
  return db
    .update(syncRuns)
    .set({ status: "applied", resolvedBy: userId })
    .where(
      and(
        eq(syncRuns.id, runId),
        eq(syncRuns.organizationId, organizationId),
        eq(syncRuns.status, "held"),
        sql`exists (select 1 from entra_connections c where c.organization_id = ${organizationId} and c.status = 'connected'
          and (c.auto_deprovision = 1 or json_extract(sync_runs.pending_changes, '$.scopeChange') = 1) and c.tenant_id = json_extract(sync_runs.pending_changes, '$.tenantId'))`,
      ),
    )
    .returning({ id: syncRuns.id });
}

/** An applied run's figures, counted once its changes are in. */
export function recordAppliedCounts(db: Db, organizationId: string, runId: string, reactivated: number) {
  return statement(
    db,
    db
      .update(syncRuns)
      .set({
        deactivated: sql`(select count(*) from memberships where organization_id = ${organizationId} and deactivated_by_run = ${runId})`,
        reactivated,
      })
      .where(and(eq(syncRuns.id, runId), eq(syncRuns.organizationId, organizationId), eq(syncRuns.status, "applied"))),
  );
}

const isHeld = (organizationId: string, runId: string) =>
  sql`exists (select 1 from sync_runs where id = ${runId} and organization_id = ${organizationId} and status = 'held')`;

/**
 * Held → dismissed, once, audited, and the delta link forgotten in the same transaction: the link
 * had already moved past the run's leavers, so only a full listing (where the threshold applies
 * again) will see them. The last statement's `changes` says whether this request won.
 */
export function dismissHeldRunStatements(db: Db, dismiss: { organizationId: string; runId: string; userId: string; now: number }) {
  const { organizationId, runId, userId, now } = dismiss;
  return [
    auditStatement(
      db,
      { organizationId, actorUserId: userId, action: "sync.held_dismissed", details: sql`json_object('runId', ${runId})`, now },
      sql`where ${isHeld(organizationId, runId)}`,
    ),
    statement(
      db,
      sql`
      update entra_connections set delta_link_enc = null, updated_at = ${now}
      where organization_id = ${organizationId} and ${isHeld(organizationId, runId)}`,
    ),
    statement(
      db,
      db
        .update(syncRuns)
        .set({ status: "dismissed", resolvedBy: userId })
        .where(and(eq(syncRuns.id, runId), eq(syncRuns.organizationId, organizationId), eq(syncRuns.status, "held"))),
    ),
  ] as const;
}

/**
 * An SQL condition: the organization has a held run read from the tenant it is connected to now.
 * Later runs wait behind it (concludeRun.ts), and nothing starts the read the re-read mark asks
 * for until Apply or Dismiss (realtimeSubscriptions.ts). A held run of a tenant no longer
 * connected cannot be applied, so it holds nothing back. `r.status = 'held'` is sync_runs_held's
 * WHERE clause (migrations/0012): one index entry, not the run history.
 */
export const holdPending = (organizationId: string) => sql`exists (
  select 1 from sync_runs r join entra_connections c on c.organization_id = r.organization_id
  where r.organization_id = ${organizationId} and r.status = 'held'
    and c.tenant_id = json_extract(r.pending_changes, '$.tenantId'))`;

/**
 * The held run later runs wait behind (see holdPending), as a column of the connection's row: one
 * entry of sync_runs_held, read with the settings a run reads anyway (no extra round trip).
 */
// The subqueries name the outer table's columns in full (`entra_connections.…`), as
// alertsState.ts does: drizzle writes a column of a one-table select without its table.
const pendingHoldOf = sql<string | null>`(select r.id from sync_runs r
  where r.organization_id = entra_connections.organization_id and r.status = 'held'
    and entra_connections.tenant_id = json_extract(r.pending_changes, '$.tenantId')
  order by r.started_at desc limit 1)`;

/**
 * Members the organization's real-time reads deactivated in runs started after `since` (and not
 * undone): the deactivations a real-time read counts with its own against the hold threshold.
 * Held runs applied by a person are not counted: someone decided those. One range of
 * sync_runs_org_started (a real-time read per burst of notifications, so a few hundred a day at
 * most), as a column of the connection's row.
 */
const realtimeDeactivationsSince = (since: number) => {
  const realtime: SyncTrigger = "realtime";
  return sql<number>`(select coalesce(sum(r.deactivated), 0) from sync_runs r
    where r.organization_id = entra_connections.organization_id and r.started_at > ${since}
      and r.trigger = ${realtime} and r.status = 'succeeded' and r.undone_at is null)`;
};

/**
 * How many people Apply would still deactivate from the held run's list: members still active, and
 * not among `enabledAgain` (people a later read found enabled again in Entra ID). The ids go in
 * chunks of 2,000 (one JSON parameter each): a list of any length stays within D1's limits.
 */
export async function countStillHeld(db: Db, organizationId: string, heldRunId: string, enabledAgain: readonly string[]): Promise<number> {
  const onList = sql`from sync_run_changes c cross join memberships m on m.organization_id = ${organizationId} and m.user_id = c.user_id
    where c.run_id = ${heldRunId} and c.change = 'deactivate' and m.status = 'active'`;
  const [total] = await db.all<{ n: number }>(sql`select count(*) as n ${onList}`);
  let stillHeld = total?.n ?? 0;
  for (let i = 0; i < enabledAgain.length && stillHeld > 0; i += 2000) {
    const chunk = JSON.stringify(enabledAgain.slice(i, i + 2000));
    const [found] = await db.all<{ n: number }>(
      sql`select count(*) as n ${onList} and c.user_id in (select value from json_each(${chunk}))`,
    );
    stillHeld -= found?.n ?? 0;
  }
  return stillHeld;
}

/**
 * The held run ends by itself only when a later read found everyone on it enabled again in Entra
 * ID: nobody is left for Apply to deactivate. It becomes "superseded", audited with no actor and
 * the reason. Never because a later run is merely newer or smaller (issue 18): only Apply, Dismiss
 * or this end it.
 */
export function releaseHeldRun(db: Db, release: { organizationId: string; heldRunId: string; runId: string; now: number }) {
  const { organizationId, heldRunId, runId, now } = release;
  return [
    auditStatement(
      db,
      {
        organizationId,
        actorUserId: null,
        action: "sync.held_superseded",
        details: sql`json_object('runId', ${heldRunId}, 'supersededBy', ${runId}, 'reason', 'enabled_again')`,
        now,
      },
      sql`where ${isHeld(organizationId, heldRunId)}`,
    ),
    statement(
      db,
      db
        .update(syncRuns)
        .set({ status: "superseded" })
        .where(and(eq(syncRuns.id, heldRunId), eq(syncRuns.organizationId, organizationId), eq(syncRuns.status, "held"))),
    ),
  ];
}

/** A finished run that changed members may be undone, once. */
export function markRunUndone(db: Db, organizationId: string, runId: string, userId: string, now: number) {
  return statement(
    db,
    db
      .update(syncRuns)
      .set({ undoneAt: now, undoneBy: userId })
      .where(
        and(
          eq(syncRuns.id, runId),
          eq(syncRuns.organizationId, organizationId),
          inArray(syncRuns.status, ["succeeded", "applied"]),
          isNull(syncRuns.undoneAt),
        ),
      ),
  );
}

/** Writes part of a held or previewed run's list: `entries` are [userId, cause] pairs. */
export function insertRunChanges(
  db: Db,
  run: { runId: string; organizationId: string; change: "deactivate" | "reactivate" },
  entries: [string, SyncCause][],
) {
  return statement(
    db,
    sql`
    insert or ignore into sync_run_changes (run_id, organization_id, user_id, change, cause)
    select ${run.runId}, ${run.organizationId}, json_extract(value, '$[0]'), ${run.change}, json_extract(value, '$[1]')
    from json_each(${JSON.stringify(entries)})`,
  );
}

/** The first `limit` people of a held or previewed run's list, by name, and the total. */
export async function listRunChanges(db: Db, organizationId: string, runId: string, limit: number) {
  const [people, [total]] = await db.batch([
    db
      .select({
        ...personColumns,
        change: syncRunChanges.change,
        cause: syncRunChanges.cause,
      })
      .from(syncRunChanges)
      .innerJoin(users, eq(users.id, syncRunChanges.userId))
      .where(and(eq(syncRunChanges.runId, runId), eq(syncRunChanges.organizationId, organizationId)))
      .orderBy(syncRunChanges.change, users.displayName)
      .limit(limit),
    db
      .select({ n: sql<number>`count(*)` })
      .from(syncRunChanges)
      .where(and(eq(syncRunChanges.runId, runId), eq(syncRunChanges.organizationId, organizationId))),
  ]);
  return { people, total: total?.n ?? 0 };
}

export type RunChangeRow = Awaited<ReturnType<typeof listRunChanges>>["people"][number];

/** Organizations the nightly sync runs for: connected, with Auto-deprovision or Add new people automatically on (runEligibility.ts). */
const eligibleOrganizations = sql`
  select c.organization_id as organization_id from entra_connections c
  join organizations o on o.id = c.organization_id
  where c.status = 'connected' and ${runsExistFor(sql`c`, sql`o`)}`;

export async function countOrganizationsToSync(db: Db): Promise<number> {
  const [row] = await db.all<{ n: number }>(sql`select count(*) as n from (${eligibleOrganizations})`);
  return row?.n ?? 0;
}

/** One page of the nightly fan-out: the organization, its run id tonight, and that run's status. */
export interface NightlyPageRow {
  organization_id: string;
  run_id: string;
  status: string;
}

/**
 * One page of the nightly fan-out as one batch (one transaction): the next `limit` eligible
 * organizations after `after`, by id. Each gets tonight's run row: "running" unless another run is
 * going ("skipped", as a single start records it). Ids are tonight's deterministic ids, so a page
 * done again (a retried step, a repeated night) inserts nothing twice. The last statement reads
 * the page back with each run's status: every "running" one still needs its Workflow instance.
 */
export function nightlyPageStatements(db: Db, page: { after: string; limit: number; idPrefix: string; idSuffix: string; now: number }) {
  const { after, limit, idPrefix, idSuffix, now } = page;
  const withPage = sql`with page as (
    select organization_id from (${eligibleOrganizations}) where organization_id > ${after} order by organization_id limit ${limit})`;
  const runId = sql`${idPrefix} || p.organization_id || ${idSuffix}`;
  return [
    statement(
      db,
      sql`${withPage}
      insert into sync_runs (id, organization_id, trigger, status, started_at)
      select ${runId}, p.organization_id, 'schedule', 'running', ${now} from page p
      where not exists (
        select 1 from sync_runs r where r.organization_id = p.organization_id and r.status = 'running'
          and r.started_at > ${now - RUN_STALE_AFTER_MS})
      on conflict (id) do nothing`,
    ),
    statement(
      db,
      sql`${withPage}
      insert into sync_runs (id, organization_id, trigger, status, started_at, finished_at)
      select ${runId}, p.organization_id, 'schedule', 'skipped', ${now}, ${now} from page p where true
      on conflict (id) do nothing`,
    ),
    statement(
      db,
      sql`${withPage}
      select p.organization_id as organization_id, r.id as run_id, r.status as status
      from page p join sync_runs r on r.id = ${runId}
      order by p.organization_id`,
    ),
  ] as const;
}

/**
 * What a run needs to know about the connection before it reads Graph, with the held run it would
 * wait behind and, given `realtimeSince`, what real-time reads deactivated since then (else 0).
 * Whether runs happen at all (`runsOn`) and whether they add people (`addNewPeople`) are
 * runEligibility.ts's one rule, plan included: every caller reads them from here.
 */
export async function findSyncSettings(db: Db, organizationId: string, options: { realtimeSince?: number } = {}) {
  const connection = sql`entra_connections`;
  const organization = sql`organizations`;
  const scope = scopeColumns(entraConnections.organizationId);
  const [row] = await db
    .select({
      status: entraConnections.status,
      tenantId: entraConnections.tenantId,
      autoDeprovision: entraConnections.autoDeprovision,
      // Add new people automatically (issue 20): with it alone, runs add people and deactivate nobody.
      addNewPeople: sql<number>`${addsNewPeopleFor(connection, organization)}`.mapWith((value) => value === 1).as("add_new_people"),
      runsOn: sql<number>`${runsExistFor(connection, organization)}`.mapWith((value) => value === 1).as("runs_on"),
      // The sync scope, as sign-in reads it (connections.ts findConnectionOfTenant): a run judges by
      // it only while the plan has directory sync (a downgrade pauses directory features).
      directorySync: sql<number>`${planIncludes(organizations.plan, "directorySync")}`.mapWith((value) => value === 1).as("directory_sync"),
      verifiedDomains: entraConnections.verifiedDomains,
      scopeMode: scope.scopeMode.as("scope_mode"),
      scopeDomains: scope.scopeDomains.as("scope_domains"),
      scopeGroupIds: scope.scopeGroupIds.as("scope_group_ids"),
      deltaLinkEnc: entraConnections.deltaLinkEnc,
      holdThresholdPercent: entraConnections.holdThresholdPercent,
      holdThresholdMinimum: entraConnections.holdThresholdMinimum,
      linkedActiveMembers: entraConnections.linkedActiveMembers,
      // Named: D1 keys a result row by column name (countingD1 in src/lib/d1Stats.ts maps it back by order).
      heldRunId: pendingHoldOf.as("held_run_id"),
      realtimeDeactivated: (options.realtimeSince === undefined ? sql<number>`0` : realtimeDeactivationsSince(options.realtimeSince)).as(
        "realtime_deactivated",
      ),
    })
    .from(entraConnections)
    .innerJoin(organizations, eq(organizations.id, entraConnections.organizationId))
    .where(eq(entraConnections.organizationId, organizationId))
    .limit(1);
  return row;
}

/**
 * Stores the next delta link, only while the same tenant is still connected and the stored link is
 * still the one the run started from (`replaces`): a link forgotten meanwhile (a Dismiss, a
 * reconnect) stays forgotten, so the next run is a full listing.
 */
export function saveDeltaLink(
  db: Db,
  link: { organizationId: string; tenantId: string; enc: string; replaces: string | null; now: number },
) {
  return statement(
    db,
    db
      .update(entraConnections)
      .set({ deltaLinkEnc: link.enc, updatedAt: link.now })
      .where(
        and(
          eq(entraConnections.organizationId, link.organizationId),
          eq(entraConnections.tenantId, link.tenantId),
          eq(entraConnections.status, "connected"),
          sql`${entraConnections.deltaLinkEnc} is ${link.replaces}`,
        ),
      ),
  );
}

export function saveHoldThreshold(db: Db, organizationId: string, threshold: { percent: number; minimum: number }, now: number) {
  return db
    .update(entraConnections)
    .set({ holdThresholdPercent: threshold.percent, holdThresholdMinimum: threshold.minimum, updatedAt: now })
    .where(and(eq(entraConnections.organizationId, organizationId), eq(entraConnections.status, "connected")))
    .returning({ organizationId: entraConnections.organizationId });
}

/** The run has not been closed yet: what is written as it closes is written once, even by a retried step. */
export const runIsOpen = (organizationId: string, runId: string) =>
  sql`exists (select 1 from sync_runs where id = ${runId} and organization_id = ${organizationId} and status = 'running')`;

/** The run's "sync.run_finished" event, written only while the run is still open (a retried step writes it once). */
export function insertRunFinishedAudit(db: Db, organizationId: string, runId: string, details: Record<string, unknown>, now: number) {
  return auditStatement(
    db,
    { organizationId, actorUserId: null, action: "sync.run_finished", details: sql`${JSON.stringify(details)}`, now },
    sql`where ${runIsOpen(organizationId, runId)}`,
  );
}
