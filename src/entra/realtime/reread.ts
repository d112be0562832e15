// What a verified change notification does: one delta read of the organization's directory, which
// decides with every rule of the nightly sync (it is the same DirectorySyncWorkflow run, trigger
// "realtime"). Notifications coalesce: while a run is going, a notification only marks
// "re-read pending", and the run, when it ends, starts one more read (startPendingReread). A burst
// of any size is therefore the run going now plus at most one more, and a forged or replayed
// notification can cause at most one extra delta read.
//
// Why a Workflow and not a Queue: the work a notification hands off is a sync run, which is already
// a Workflow instance (checkpointed steps, retries, the guarded run row that keeps an organization
// to one run at a time). Starting it directly is one D1 batch and one Workflows call; a Queue would
// add a hop (and its batching delay) in front of the same Workflow, for no more safety: the pending
// mark lives in D1 and survives a lost instance start, and the nightly run stays the safety net.
import type { Db } from "../../db/client.ts";
import { runStatements } from "../../db/statements.ts";
import { notificationRunStatements } from "../../db/realtimeSubscriptions.ts";
import { RUN_STALE_AFTER_MS } from "../../db/syncRuns.ts";
import type { SyncWorkflow } from "../sync/launch.ts";
import { recordRunOutcome } from "../sync/recordRun.ts";
import { READ_NOW_EVENT } from "../sync/schedule.ts";

type ReadOutcome = { started: string } | { started: null };

async function startRun(db: Db, workflow: SyncWorkflow, organizationId: string, now: number, fromNotification: boolean): Promise<ReadOutcome> {
  const runId = crypto.randomUUID();
  const batch = notificationRunStatements(db, {
    organizationId, runId, now, staleBefore: now - RUN_STALE_AFTER_MS, markPending: fromNotification, requirePending: !fromNotification,
  });
  const { inserted, nightlyRunId } = batch.outcome(await runStatements(db, batch.statements));
  if (!inserted) {
    if (fromNotification && nightlyRunId) await wakeNightlyRun(workflow, nightlyRunId);
    return { started: null };
  }
  try {
    await workflow.create({ id: runId, params: { runId, organizationId, trigger: "realtime" } });
  } catch (error) {
    console.error("real-time read could not start", error instanceof Error ? error.message.slice(0, 200) : typeof error);
    await recordRunOutcome(db, {
      organizationId, runId, trigger: "realtime", status: "failed", mode: null, usersRead: 0, deactivated: 0, reactivated: 0,
      graphRequests: 0, error: "internal", pending: null, deltaLink: null, now: Date.now(),
    });
    return { started: null };
  }
  return { started: runId };
}

/**
 * Tonight's run for the organization is going, but may still be waiting for its start slot (up to
 * SYNC_START_WINDOW_MINUTES after 02:30): told a change came, it reads now instead of at its slot
 * (workflow.ts waits with waitForEvent). An instance already past its wait ignores the event, and
 * its own read, or the re-read the pending mark asks for, covers the change.
 */
async function wakeNightlyRun(workflow: SyncWorkflow, runId: string) {
  try {
    await (await workflow.get(runId)).sendEvent({ type: READ_NOW_EVENT, payload: null });
  } catch (error) {
    // An instance that has ended (or never started) cannot be woken; the mark still stands.
    console.error("nightly run not woken", error instanceof Error ? error.message.slice(0, 200) : typeof error);
  }
}

/** A verified notification for the organization: a delta read now, or one after the run going. */
export function requestRealtimeRead(db: Db, workflow: SyncWorkflow, organizationId: string, now: number): Promise<ReadOutcome> {
  return startRun(db, workflow, organizationId, now, true);
}

/** At the end of every run: the one more read that notifications asked for while it ran, if any. */
export function startPendingReread(db: Db, workflow: SyncWorkflow, organizationId: string, now: number): Promise<ReadOutcome> {
  return startRun(db, workflow, organizationId, now, false);
}
