// What a verified change notification does: one delta read of the organization's directory, which
// decides with every rule of the nightly sync (it is the same DirectorySyncWorkflow run, trigger
// "realtime"). Notifications coalesce: while a run is going, a notification only marks
// "re-read pending", and the run, when it ends, starts one more read (startPendingReread). A burst
// of any size is therefore the run going now plus at most one more, and a forged or replayed
// notification can cause at most one extra delta read.
//
// THE INVARIANT: a change notified at any moment (before, during or after a read, the first full
// read included) is reflected by a read that starts after the change. Why it holds:
// 1. Written down before it is acknowledged. A verified notification's one batch (the mark set,
//    and a run's row inserted when none is going) commits before Graph gets its 202 (noteChange).
//    If D1 fails, Graph gets a 5xx and sends it again: Microsoft's rule is a 202 once the
//    notification is queued, a 5xx when it is neither processed nor queued
//    (https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#http-codes-and-retry-logic).
// 2. One moment clears the mark: a run's first step, before the run takes its starting point (the
//    stored delta link, or a full read's tracking link for "now"). A change notified before that
//    moment was made before it, so every page the run reads afterwards shows it; a full read
//    judges every member linked before it began listing (judgeListing.ts), so also one who joined
//    while the read waited to start. (Graph does not promise that a change is in delta query the
//    moment it is notified: the 2-second wait in workflow.ts allows for that, and the nightly run
//    catches what is still missing.)
// 3. A notification after that moment sets the mark, in one transaction with the check for a
//    running run: it either starts a run or leaves the mark for the run going. Every run, whatever
//    its outcome, starts one more read at its end when the mark is set (startPendingReread), from
//    the link this run stored, which every change after its starting point is in. A member linked
//    while a full read lists is not judged by it, and needs not be: a sign-in or an import links
//    only an account Entra shows enabled at that moment, and a later change is one of those.
// 4. A held run stops this chain on purpose: nobody is deactivated past the threshold without a
//    person. Reads still start on notifications, but wait behind it (src/entra/sync/waitBehindHold.ts):
//    they change nothing, keep the delta link where the held run left it, and set the mark again.
//    Apply or Dismiss starts the read the mark asks for (runActions.ts), which reads everything
//    since the held run.
// 5. A read whose Workflow could not be created sets the mark again; a read that fails leaves the
//    delta link where it was. Either way the next read (the next notification's, or the nightly
//    one at the latest) reads the same changes.
// Each race is a test in test/realtime/races.test.ts or deltaReadRaces.test.ts.
//
// Why a Workflow and not a Queue: the work a notification hands off is a sync run, which is already
// a Workflow instance (checkpointed steps, retries, the guarded run row that keeps an organization
// to one run at a time). Starting it directly is one D1 batch and one Workflows call; a Queue would
// add a hop (and its batching delay) in front of the same Workflow, for no more safety: the pending
// mark lives in D1 and survives a lost instance start, and the nightly run stays the safety net.
import type { Db } from "../../db/client.ts";
import { runStatements } from "../../db/statements.ts";
import { markRereadPending, notificationRunStatements } from "../../db/realtimeSubscriptions.ts";
import { RUN_STALE_AFTER_MS } from "../../db/syncRuns.ts";
import type { SyncWorkflow } from "../sync/launch.ts";
import { failedRunOutcome, recordRunOutcome } from "../sync/recordRun.ts";
import { READ_NOW_EVENT } from "../sync/schedule.ts";

type ReadOutcome = { started: string } | { started: null };

/** What a notification's batch did: a run row inserted for it, or tonight's run going instead. */
export interface NotedChange {
  organizationId: string;
  runId: string | null;
  nightlyRunId: string | null;
}

async function recordRead(db: Db, organizationId: string, now: number, fromNotification: boolean): Promise<NotedChange> {
  const runId = crypto.randomUUID();
  const batch = notificationRunStatements(db, {
    organizationId,
    runId,
    now,
    staleBefore: now - RUN_STALE_AFTER_MS,
    markPending: fromNotification,
    requirePending: !fromNotification,
  });
  const { inserted, nightlyRunId } = batch.outcome(await runStatements(db, batch.statements));
  return { organizationId, runId: inserted ? runId : null, nightlyRunId: fromNotification ? nightlyRunId : null };
}

/** Creates the Workflow instance of a recorded run, or wakes tonight's run. */
async function startRecorded(db: Db, workflow: SyncWorkflow, noted: NotedChange): Promise<ReadOutcome> {
  const { organizationId, runId } = noted;
  if (!runId) {
    if (noted.nightlyRunId) await wakeNightlyRun(workflow, noted.nightlyRunId);
    return { started: null };
  }
  try {
    await workflow.create({ id: runId, params: { runId, organizationId, trigger: "realtime" } });
  } catch (error) {
    console.error("real-time read could not start", error instanceof Error ? error.message.slice(0, 200) : typeof error);
    await recordRunOutcome(db, failedRunOutcome({ organizationId, runId, trigger: "realtime", now: Date.now() }));
    // The batch cleared the mark for this read, which never ran: whichever read comes next covers it.
    await markRereadPending(db, organizationId, Date.now()).run();
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

/**
 * A verified notification, written down (the invariant's step 1): the mark set, or a run's row
 * inserted. Awaited before the webhook answers; startNotedRead does the rest after the answer.
 */
export function noteChange(db: Db, organizationId: string, now: number): Promise<NotedChange> {
  return recordRead(db, organizationId, now, true);
}

/** After the webhook's answer: the noted run's Workflow instance, or tonight's run woken. */
export function startNotedRead(db: Db, workflow: SyncWorkflow, noted: NotedChange): Promise<ReadOutcome> {
  return startRecorded(db, workflow, noted);
}

/** A change the organization must read now (a lifecycle notification): noted and started. */
export async function requestRealtimeRead(db: Db, workflow: SyncWorkflow, organizationId: string, now: number): Promise<ReadOutcome> {
  return startRecorded(db, workflow, await recordRead(db, organizationId, now, true));
}

/**
 * At the end of every run, and after Apply or Dismiss: the one more read that notifications (or a
 * run waiting behind a held run) asked for, if any and unless a run is held.
 */
export async function startPendingReread(db: Db, workflow: SyncWorkflow, organizationId: string, now: number): Promise<ReadOutcome> {
  return startRecorded(db, workflow, await recordRead(db, organizationId, now, false));
}
