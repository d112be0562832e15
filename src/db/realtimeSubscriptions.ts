// Real-time updates: the organization's Graph change-notification subscription (migrations/0010, renamed in 0017).
// client_state_enc is token-vault ciphertext and is selected only where a notification is checked.
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { planIncludes } from "./planFeatures.ts";
import { runsExistFor } from "./runEligibility.ts";
import { statement } from "./statements.ts";
import { groupSubscriptions, realtimeSubscriptions, entraConnections, organizations, type RealtimeFailure } from "./schema.ts";
import { holdPending } from "./syncRuns.ts";

/**
 * Runs a real-time update may start: connected, runs on (the nightly sync's rule: Auto-deprovision
 * or Add new people automatically, runEligibility.ts), and a plan with real-time updates.
 */
const eligiblePlan = planIncludes(sql`o.plan`, "realtimeUpdates");
const runsOn = runsExistFor(sql`c`, sql`o`);
const stillEligible = (organizationId: string | ReturnType<typeof sql>) => sql`exists (
  select 1 from ${entraConnections} c join ${organizations} o on o.id = c.organization_id and ${eligiblePlan}
  where c.organization_id = ${organizationId} and c.status = 'connected' and ${runsOn})`;

/**
 * The organization's subscription (if any): the id and tenant Graph knows, to renew or delete it,
 * and how it fares, for the Entra page. One read serves both: the row is one per organization.
 */
export async function findSubscription(db: Db, organizationId: string) {
  const [row] = await db
    .select({
      subscriptionId: realtimeSubscriptions.subscriptionId,
      tenantId: realtimeSubscriptions.tenantId,
      status: realtimeSubscriptions.status,
      expiresAt: realtimeSubscriptions.expiresAt,
      failure: realtimeSubscriptions.failure,
      failedAt: realtimeSubscriptions.failedAt,
      lastNotificationAt: realtimeSubscriptions.lastNotificationAt,
      lastNotificationRunId: realtimeSubscriptions.lastNotificationRunId,
    })
    .from(realtimeSubscriptions)
    .where(eq(realtimeSubscriptions.organizationId, organizationId))
    .limit(1);
  return row;
}

export type SubscriptionSummary = NonNullable<Awaited<ReturnType<typeof findSubscription>>>;

/**
 * The subscriptions a notification names that we hold, with their sealed clientState, and whether
 * each still counts (`current`): not expired at Graph (a renewal that failed leaves it valid until
 * then) and its organization may still run a real-time update. One that no longer counts is still
 * returned, so a notification for it can be told genuine (acknowledged, nothing done) from forged
 * (refused). One read of the unique index per id; nothing is written. The ids go in as one JSON
 * parameter: a POST may name any number of subscriptions (Microsoft batches items of several
 * subscriptions), and D1 binds at most 100.
 */
export function findSubscriptionsForNotification(db: Db, subscriptionIds: string[], now: number) {
  return db
    .select({
      organizationId: realtimeSubscriptions.organizationId,
      tenantId: realtimeSubscriptions.tenantId,
      subscriptionId: realtimeSubscriptions.subscriptionId,
      clientStateEnc: realtimeSubscriptions.clientStateEnc,
      current: sql<number>`(coalesce(${realtimeSubscriptions.expiresAt}, 0) > ${now} and ${stillEligible(sql`${realtimeSubscriptions.organizationId}`)})`,
    })
    .from(realtimeSubscriptions)
    .where(sql`${realtimeSubscriptions.subscriptionId} in (select value from json_each(${JSON.stringify(subscriptionIds)}))`)
    .unionAll(
      // The /groups subscription beside it (migrations/0022): its notifications start the same read.
      db
        .select({
          organizationId: groupSubscriptions.organizationId,
          tenantId: groupSubscriptions.tenantId,
          subscriptionId: groupSubscriptions.subscriptionId,
          clientStateEnc: groupSubscriptions.clientStateEnc,
          current: sql<number>`(${groupSubscriptions.expiresAt} > ${now} and ${stillEligible(sql`${groupSubscriptions.organizationId}`)})`,
        })
        .from(groupSubscriptions)
        .where(sql`${groupSubscriptions.subscriptionId} in (select value from json_each(${JSON.stringify(subscriptionIds)}))`),
    );
}

/** A subscription Graph created (src/entra/realtime/graphSubscription.ts), as both subscription tables store it. */
export type CreatedSubscription = {
  organizationId: string;
  tenantId: string;
  subscriptionId: string;
  clientStateEnc: string;
  expiresAt: number;
  now: number;
};

export const createdSubscriptionValues = (row: CreatedSubscription) => ({
  tenantId: row.tenantId,
  subscriptionId: row.subscriptionId,
  clientStateEnc: row.clientStateEnc,
  expiresAt: row.expiresAt,
  updatedAt: row.now,
});

/** A subscription created: active, its id, sealed clientState and expiry; the failure forgotten. */
export function saveSubscriptionActive(db: Db, row: CreatedSubscription) {
  const values = {
    ...createdSubscriptionValues(row),
    status: "active" as const,
    failure: null,
    failedAt: null,
  };
  return db
    .insert(realtimeSubscriptions)
    .values({ organizationId: row.organizationId, ...values })
    .onConflictDoUpdate({ target: realtimeSubscriptions.organizationId, set: values });
}

/** Creating or renewing failed: shown on the page with the reason. A known subscription id is kept, so it can still be deleted. */
export function saveSubscriptionFailed(db: Db, row: { organizationId: string; tenantId: string; failure: RealtimeFailure; now: number }) {
  return db
    .insert(realtimeSubscriptions)
    .values({
      organizationId: row.organizationId,
      tenantId: row.tenantId,
      status: "failed",
      failure: row.failure,
      failedAt: row.now,
      updatedAt: row.now,
    })
    .onConflictDoUpdate({
      target: realtimeSubscriptions.organizationId,
      set: { status: "failed", failure: row.failure, failedAt: row.now, updatedAt: row.now },
    });
}

export function saveSubscriptionRenewed(db: Db, organizationId: string, subscriptionId: string, expiresAt: number, now: number) {
  return db
    .update(realtimeSubscriptions)
    .set({ expiresAt, status: "active", failure: null, failedAt: null, updatedAt: now })
    .where(and(eq(realtimeSubscriptions.organizationId, organizationId), eq(realtimeSubscriptions.subscriptionId, subscriptionId)));
}

export function deleteSubscriptionRow(db: Db, organizationId: string) {
  return db.delete(realtimeSubscriptions).where(eq(realtimeSubscriptions.organizationId, organizationId));
}

/** What the nightly upkeep does next, a page at a time (src/entra/realtime/upkeep.ts). */
export async function listSubscriptionUpkeep(db: Db, options: { renewBefore: number; after: string; limit: number }) {
  // Eligible organizations whose subscription is missing, failed or due; and rows of organizations
  // no longer eligible (toggle off without a token, disconnected, downgraded), which go.
  const rows = await db.all<{
    organization_id: string;
    eligible: number;
    subscription_id: string | null;
    status: string | null;
    expires_at: number | null;
  }>(sql`
    select organization_id, eligible, subscription_id, status, expires_at from (
      select c.organization_id as organization_id, 1 as eligible, s.subscription_id, s.status, s.expires_at
      from ${entraConnections} c join ${organizations} o on o.id = c.organization_id and ${eligiblePlan}
      left join ${realtimeSubscriptions} s on s.organization_id = c.organization_id
      where c.status = 'connected' and ${runsOn}
        and (s.organization_id is null or s.status = 'failed' or s.expires_at is null or s.expires_at <= ${options.renewBefore})
      union all
      select s.organization_id, 0, s.subscription_id, s.status, s.expires_at from ${realtimeSubscriptions} s
      where not ${stillEligible(sql`s.organization_id`)}
    ) where organization_id > ${options.after} order by organization_id limit ${options.limit}`);
  return rows;
}

/**
 * A real-time update's run for the organization, unless a run is going: one batch (one transaction), so
 * either a run row is inserted and the pending mark cleared, or the mark stays for the running run
 * to find when it ends. `requirePending` is the re-read a run (or Apply, or Dismiss) starts when it
 * ends: only when the mark is set, and not while a held run waits for a person (later reads wait
 * behind it; Apply or Dismiss starts this read). A notification itself starts a read even then:
 * that read changes nothing, but it may find the held people enabled again (concludeRun.ts).
 */
export function notificationRunStatements(
  db: Db,
  request: { organizationId: string; runId: string; now: number; staleBefore: number; markPending: boolean; requirePending: boolean },
) {
  const { organizationId, runId, now, staleBefore } = request;
  const statements = [
    ...(request.markPending
      ? [
          statement(
            db,
            sql`update realtime_subscriptions set reread_pending = 1, last_notification_at = ${now}, updated_at = ${now}
          where organization_id = ${organizationId}`,
          ),
        ]
      : []),
    statement(
      db,
      sql`
      insert into sync_runs (id, organization_id, trigger, status, started_at)
      select ${runId}, ${organizationId}, 'realtime', 'running', ${now}
      where not exists (
          select 1 from sync_runs where organization_id = ${organizationId} and status = 'running' and started_at > ${staleBefore})
        and ${stillEligible(organizationId)}
        ${
          request.requirePending
            ? sql`and exists (select 1 from realtime_subscriptions where organization_id = ${organizationId} and reread_pending = 1)
          and not ${holdPending(organizationId)}`
            : sql``
        }
      on conflict (id) do nothing`,
    ),
    statement(
      db,
      sql`
      update realtime_subscriptions set reread_pending = 0, last_notification_run_id = ${runId}, updated_at = ${now}
      where organization_id = ${organizationId} and exists (select 1 from sync_runs where id = ${runId} and status = 'running')`,
    ),
    // When no run was started: the nightly run that is going instead, if any (it may still be
    // waiting for its start slot, and can be woken: reread.ts).
    statement(
      db,
      sql`
      select id from sync_runs
      where organization_id = ${organizationId} and status = 'running' and trigger = 'schedule' and started_at > ${staleBefore}
        and id <> ${runId}
      limit 1`,
    ),
  ];
  const insertAt = statements.length - 3;
  return {
    statements,
    /** What the batch did: whether the run row went in; if not, tonight's run going instead (if any). */
    outcome(results: D1Result[]): { inserted: boolean; nightlyRunId: string | null } {
      const going = results[statements.length - 1]?.results as { id: string }[] | undefined;
      return { inserted: results[insertAt]?.meta.changes === 1, nightlyRunId: going?.[0]?.id ?? null };
    },
  };
}

/**
 * Asks for one more read: a real-time read could not start (the Workflows call failed), or a run
 * waited behind a held run and changed nothing. The next run's end (or Apply, or Dismiss, or the
 * next notification) starts it.
 */
export function markRereadPending(db: Db, organizationId: string, now: number) {
  return statement(
    db,
    sql`update realtime_subscriptions set reread_pending = 1, updated_at = ${now}
    where organization_id = ${organizationId}`,
  );
}

/**
 * A run is about to read the directory: every notification that came before now is covered by that
 * read, so the re-read they asked for is no longer needed (a burst that arrives before the read
 * starts costs that one read). Notifications that come later mark it again.
 */
export function clearRereadMark(db: Db, organizationId: string, now: number) {
  return db.run(sql`update realtime_subscriptions set reread_pending = 0, updated_at = ${now}
    where organization_id = ${organizationId} and reread_pending = 1`);
}
