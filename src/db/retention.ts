// Nightly pruning: rows nobody will read again, deleted a bounded batch at a time. Each function
// deletes at most `limit` rows in one statement and returns how many it deleted, so the caller
// can loop within an invocation's D1 query budget and leave the rest for the next step or night.
import { sql } from "drizzle-orm";
import type { Db } from "./client.ts";

async function deleted(db: Db, query: ReturnType<typeof sql>): Promise<number> {
  const result = await db.run(query);
  return result.meta.changes ?? 0;
}

/** Sessions past their absolute expiry or idle since `idleCutoff`. */
export function deleteExpiredSessionsBatch(db: Db, now: number, idleCutoff: number, limit: number) {
  return deleted(
    db,
    sql`delete from sessions where rowid in (
    select rowid from sessions where expires_at < ${now} or last_seen_at < ${idleCutoff} limit ${limit})`,
  );
}

/** Single-use records of OAuth round trips whose sealed cookie has expired (it can no longer be presented). */
export function deleteExpiredFlowStatesBatch(db: Db, now: number, limit: number) {
  return deleted(
    db,
    sql`delete from used_flow_states where rowid in (select rowid from used_flow_states where expires_at < ${now} limit ${limit})`,
  );
}

/**
 * Setup links that expired (or were revoked) unused before `cutoff`. A used link stays: the page
 * says from it when and for which tenant the Azure administrator consented.
 */
export function deleteStaleSetupLinksBatch(db: Db, cutoff: number, limit: number) {
  return deleted(
    db,
    sql`delete from entra_setup_links where rowid in (
    select rowid from entra_setup_links where used_at is null and expires_at < ${cutoff} limit ${limit})`,
  );
}

/**
 * The change lists of runs that started before `cutoff` and that the page no longer shows. The
 * page lists a held run's changes (Apply reads them too) and the latest run's when it is a preview;
 * a run still "running" may be writing its list. Those are kept whatever their age.
 */
export function deleteOldRunChangesBatch(db: Db, cutoff: number, limit: number) {
  return deleted(
    db,
    sql`delete from sync_run_changes where rowid in (
    select c.rowid from sync_runs r join sync_run_changes c on c.run_id = r.id
    where r.started_at < ${cutoff} and r.status not in ('held', 'running')
      and not (r.status = 'previewed' and not exists (
        select 1 from sync_runs later where later.organization_id = r.organization_id and later.started_at > r.started_at))
    limit ${limit})`,
  );
}

/**
 * Role change lists (issue 19: a run's role changes, for Undo and the Role changes page) decided
 * before `cutoff`, as old runs' deactivation lists go. A list on hold stays whatever its age: it
 * waits on a person's Apply or Dismiss. One range of the partial index run_role_changes_decided.
 */
export function deleteOldRoleChangesBatch(db: Db, cutoff: number, limit: number) {
  return deleted(
    db,
    sql`delete from run_role_changes where rowid in (
    select rowid from run_role_changes indexed by run_role_changes_decided
    where decided_at < ${cutoff} and state <> 'held' limit ${limit})`,
  );
}

/**
 * Runs that started before `cutoff` (the audit retention: their audit events are gone too), oldest
 * first through `sync_runs_started`. Kept whatever their age: a held or running run, the
 * organization's latest run (the page's "last run" and, for a preview, its list), and a run whose
 * change list is still stored (its rows reference it). The kept ones are skipped, not counted, so
 * a batch reads at most `limit` rows plus those (at most a few per organization). `indexed by`
 * makes SQLite refuse the statement rather than fall back to scanning every run.
 */
export function deleteOldRunsBatch(db: Db, cutoff: number, limit: number) {
  return deleted(
    db,
    sql`delete from sync_runs where rowid in (
    select r.rowid from sync_runs r indexed by sync_runs_started
    where r.started_at < ${cutoff} and r.status not in ('held', 'running')
      and exists (select 1 from sync_runs later where later.organization_id = r.organization_id and later.started_at > r.started_at)
      and not exists (select 1 from sync_run_changes c where c.run_id = r.id)
    order by r.started_at limit ${limit})`,
  );
}

/**
 * Audit events created before `cutoff`. Ids grow with time, so only the oldest `limit` events are
 * looked at: a batch reads at most `limit` rows instead of scanning the log, and it never deletes
 * an event newer than the cutoff (a batch that deletes fewer than `limit` has reached them).
 */
export function deleteOldAuditEventsBatch(db: Db, cutoff: number, limit: number) {
  return deleted(
    db,
    sql`delete from audit_events where id in (
    select id from (select id, created_at from audit_events order by id limit ${limit}) where created_at < ${cutoff})`,
  );
}

/**
 * Webhook events created before `cutoff` and already on the queue (docs/events.md: Redeliver works
 * for 30 days). A pending one stays whatever its age: it has not been sent yet.
 */
export function deleteOldWebhookEventsBatch(db: Db, cutoff: number, limit: number) {
  // Like audit events: seq grows with time, so only the oldest `limit` rows are looked at.
  return deleted(
    db,
    sql`delete from webhook_events where seq in (
    select seq from (select seq, created_at, relayed_at from webhook_events order by seq limit ${limit})
    where created_at < ${cutoff} and relayed_at is not null)`,
  );
}

/** Send test event / Redeliver paces older than `cutoff`: long past their 10 seconds (migrations/0019). */
export function deleteOldManualSendsBatch(db: Db, cutoff: number, limit: number) {
  return deleted(
    db,
    sql`delete from webhook_manual_sends where rowid in (
    select rowid from webhook_manual_sends where sent_at < ${cutoff} limit ${limit})`,
  );
}
