// Nightly housekeeping (a step of the nightly Workflow, after the fan-out): rows nobody will read
// again are deleted, a bounded batch at a time, so the tables stay to live rows and a recent past:
// sessions past their idle or absolute expiry, the single-use records of OAuth round trips whose cookie has expired, setup links that
// expired unused a month ago, the change lists of old runs the page no longer shows (deactivations
// and role changes, a month after they were decided, but for a list on hold), and audit
// events and runs older than the configured retention (AUDIT_RETENTION_DAYS, 400 days by default),
// webhook events sent more than a month ago, and Send test event paces older than a day.
import type { Db } from "../db/client.ts";
import {
  deleteExpiredFlowStatesBatch,
  deleteExpiredSessionsBatch,
  deleteOldAuditEventsBatch,
  deleteOldManualSendsBatch,
  deleteOldRoleChangesBatch,
  deleteOldRunChangesBatch,
  deleteOldRunsBatch,
  deleteOldWebhookEventsBatch,
  deleteStaleSetupLinksBatch,
} from "../db/retention.ts";
import { SESSION_IDLE_TIMEOUT_MS } from "../auth/session.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Rows one delete statement removes at most: small enough for D1's per-query time limit. */
export const PRUNE_BATCH_ROWS = 5000;
/** Expired setup links and old runs' change lists are kept this long for support questions. */
const STALE_AFTER_DAYS = 30;

export const PRUNE_TASKS = [
  "sessions",
  "used_flow_states",
  "setup_links",
  "sync_run_changes",
  "run_role_changes",
  "sync_runs",
  "audit_events",
  "webhook_events",
  "webhook_manual_sends",
] as const;
type PruneTask = (typeof PRUNE_TASKS)[number];

/** Deletes one batch (at most PRUNE_BATCH_ROWS rows) of `task`; returns how many rows went. */
export function pruneBatch(db: Db, task: PruneTask, now: number, retention: { auditDays: number }): Promise<number> {
  const staleCutoff = now - STALE_AFTER_DAYS * DAY_MS;
  switch (task) {
    case "sessions":
      return deleteExpiredSessionsBatch(db, now, now - SESSION_IDLE_TIMEOUT_MS, PRUNE_BATCH_ROWS);
    case "used_flow_states":
      return deleteExpiredFlowStatesBatch(db, now, PRUNE_BATCH_ROWS);
    case "setup_links":
      return deleteStaleSetupLinksBatch(db, staleCutoff, PRUNE_BATCH_ROWS);
    case "sync_run_changes":
      return deleteOldRunChangesBatch(db, staleCutoff, PRUNE_BATCH_ROWS);
    case "run_role_changes":
      return deleteOldRoleChangesBatch(db, staleCutoff, PRUNE_BATCH_ROWS);
    case "sync_runs":
      return deleteOldRunsBatch(db, now - retention.auditDays * DAY_MS, PRUNE_BATCH_ROWS);
    case "audit_events":
      return deleteOldAuditEventsBatch(db, now - retention.auditDays * DAY_MS, PRUNE_BATCH_ROWS);
    case "webhook_events":
      return deleteOldWebhookEventsBatch(db, staleCutoff, PRUNE_BATCH_ROWS);
    case "webhook_manual_sends":
      return deleteOldManualSendsBatch(db, now - DAY_MS, PRUNE_BATCH_ROWS);
  }
}
