// Starting a run from the page's "Sync now" and "Preview" (the nightly runs are started a page at
// a time by the fan-out, fanout.ts). The run row is written first, guarded in SQL: an organization never has two runs
// going at once, and a repeated cron event (same instance id) starts nothing.
import type { Db } from "../../db/client.ts";
import { insertRunUnlessRunning, type SyncRunParams, type SyncTrigger } from "../../db/syncRuns.ts";
import { failedRunOutcome, recordRunOutcome } from "./recordRun.ts";

type StartOutcome = { started: true; runId: string } | { started: false; reason: "already_running" | "not_started" };

/** The SYNC_WORKFLOW binding: the one place a run's instance is created. */
export type SyncWorkflow = Workflow<SyncRunParams>;

/**
 * `beforeStart`: writes that must land only once the run is sure to be the organization's one
 * running (a saved sync scope, src/entra/scopeChange.ts); if they fail, the run row is closed as
 * failed and the error goes on. `scopeChange`: the run applies a scope just saved (concludeRun.ts).
 */
export async function startSyncRun(
  db: Db,
  workflow: SyncWorkflow,
  request: { organizationId: string; trigger: Exclude<SyncTrigger, "schedule">; runId: string; now: number; scopeChange?: true },
  beforeStart?: () => Promise<void>,
): Promise<StartOutcome> {
  const { organizationId, trigger, runId, now } = request;
  if (!(await insertRunUnlessRunning(db, { id: runId, organizationId, trigger, now }))) {
    return { started: false, reason: "already_running" };
  }
  try {
    await beforeStart?.();
  } catch (error) {
    await recordRunOutcome(db, failedRunOutcome({ organizationId, runId, trigger, now: Date.now() }));
    throw error;
  }
  try {
    const params: SyncRunParams = { runId, organizationId, trigger, ...(request.scopeChange ? { scopeChange: true } : {}) };
    await workflow.create({ id: runId, params });
  } catch (error) {
    // The Workflows service refused (or already has this id): close the row so nothing waits on it.
    console.error("directory sync run could not start", error instanceof Error ? error.message.slice(0, 200) : typeof error);
    await recordRunOutcome(db, failedRunOutcome({ organizationId, runId, trigger, now: Date.now() }));
    return { started: false, reason: "not_started" };
  }
  return { started: true, runId };
}
