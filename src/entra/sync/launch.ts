// Starting runs: the Cron Trigger (one per eligible organization) and the page's "Sync now" and
// "Preview". The run row is written first, guarded in SQL: an organization never has two runs
// going at once, and a repeated cron event (same instance id) starts nothing.
import type { Db } from "../../db/client.ts";
import {
  insertRunUnlessRunning, insertSkippedNightlyRun, listOrganizationsToSync, type SyncRunParams, type SyncTrigger,
} from "../../db/syncRuns.ts";
import { recordRunOutcome } from "./recordRun.ts";
import { nightlyRunId } from "./schedule.ts";

type StartOutcome = { started: true; runId: string } | { started: false; reason: "already_running" | "not_started" };

/** The SYNC_WORKFLOW binding: the one place a run's instance is created. */
export type SyncWorkflow = Workflow<SyncRunParams>;

export async function startSyncRun(
  db: Db,
  workflow: SyncWorkflow,
  request: { organizationId: string; trigger: SyncTrigger; runId: string; now: number },
): Promise<StartOutcome> {
  const { organizationId, trigger, runId, now } = request;
  if (!(await insertRunUnlessRunning(db, { id: runId, organizationId, trigger, now }))) {
    if (trigger === "schedule") await insertSkippedNightlyRun(db, { id: runId, organizationId, now }).run();
    return { started: false, reason: "already_running" };
  }
  try {
    await workflow.create({ id: runId, params: { runId, organizationId, trigger } });
  } catch (error) {
    // The Workflows service refused (or already has this id): close the row so nothing waits on it.
    console.error("directory sync run could not start", error instanceof Error ? error.message.slice(0, 200) : typeof error);
    await recordRunOutcome(db, {
      organizationId, runId, trigger, status: "failed", mode: null, usersRead: 0, deactivated: 0, reactivated: 0,
      graphRequests: 0, error: "internal", pending: null, deltaLink: null, now: Date.now(),
    });
    return { started: false, reason: "not_started" };
  }
  return { started: true, runId };
}

/** The Cron Trigger: one run per organization that is connected with Auto-deprovision on. */
export async function startNightlySyncs(db: Db, workflow: SyncWorkflow, scheduledTime: number): Promise<StartOutcome[]> {
  const organizations = await listOrganizationsToSync(db);
  const outcomes: StartOutcome[] = [];
  for (const { organizationId } of organizations) {
    try {
      outcomes.push(
        await startSyncRun(db, workflow, { organizationId, trigger: "schedule", runId: nightlyRunId(organizationId, scheduledTime), now: Date.now() }),
      );
    } catch (error) {
      // One organization's trouble must not stop the others' runs.
      console.error("nightly sync not started for an organization", error instanceof Error ? error.name : typeof error);
      outcomes.push({ started: false, reason: "not_started" });
    }
  }
  return outcomes;
}
