// The last step of a run that read the whole directory: judge, then apply, hold, wait behind a
// held run, or (for a preview) only record what would change. Idempotent, as a retried step must be.
// A full run judges every linked member here (judgeListing.ts). A delta run judges the few members
// its pages listed. The hold threshold's denominator is the connection's linked-member count (kept
// by triggers, migrations/0009), so a delta run reads rows in proportion to its changes.
//
// The safety threshold across real-time reads (issue 18). A real-time read sees only what changed
// since the last read, so a mass disable arrives as slices (40 people disabled 250 ms apart were
// five reads of about 8), and each slice alone stays under the threshold. So a real-time read
// counts, with its own, the deactivations real-time reads applied in the 24 hours before it
// (REALTIME_WINDOW_MS): the threshold was set for the nightly run, which sees a day of changes at
// once, and 24 hours makes the slices of a day weigh what that one read would. A fixed window
// rather than "since the last nightly run": that boundary falls at 02:30, in the middle of
// whatever a script is doing, and a night that failed or was skipped would stretch it without end.
// The read that would cross the threshold is held with all of its deactivations listed; from then
// on every run waits behind it (waitBehindHold.ts) until Apply or Dismiss, or a read that finds
// everyone on it enabled again.
import type { Db } from "../../db/client.ts";
import { runStatements } from "../../db/statements.ts";
import { clearRunChanges, countDeactivatedByRun } from "../../db/syncMembers.ts";
import { findRun, findSyncSettings, type FinishedStatus } from "../../db/syncRuns.ts";
import { applyDirectoryChanges, applySavedChanges } from "./applyDirectoryChanges.ts";
import type { SyncFailure } from "./failures.ts";
import { ChangeList, judgeListing } from "./judgeListing.ts";
import { exceedsHoldThreshold, planDirectoryChanges, type Observed } from "./planDirectoryChanges.ts";
import { recordRunOutcome, type RunRead } from "./recordRun.ts";
import { waitBehindHold } from "./waitBehindHold.ts";
import { addGroupScopeChanges, type RunScope } from "./runScope.ts";
import { onlyScopeChanges, scopeCausesOnly } from "./scopeChangeRun.ts";

/**
 * Changes kept in memory before the list goes to sync_run_changes instead (then applied from
 * there, 2,000 at a time): a tenant that vanishes from Graph must not fill the isolate's memory.
 */
const CHANGES_IN_MEMORY = 20_000;

/** How far back a real-time read counts the deactivations of real-time reads against the threshold. */
export const REALTIME_WINDOW_MS = 24 * 60 * 60 * 1000;

interface ConcludeRequest extends RunRead {
  /** A delta run's members that may change; empty for a full run. */
  observed: ReadonlyMap<string, Observed>;
  /** A full run's listing attempt (its restarts): which stored pages are its. */
  attempt: number;
  /**
   * A full run: when it began listing (readLoop.ts `listingSince`). Only members linked before then
   * are judged on the listing; null (an instance started before this was recorded) falls back to
   * the run's start.
   */
  listingSince: number | null;
  /** The held run found when this run began (workflow.ts): this run waits behind it. */
  heldRunId: string | null;
  deltaLinkEnc: string | null;
  /** The stored delta link the run started from: the new one replaces only that one. */
  previousLinkEnc: string | null;
  /** What the run knows of the sync scope: its leavers and returners are the run's too (runScope.ts). */
  scope?: RunScope | null;
  /** Started by saving the sync scope (scopeChangeRun.ts): its changes apply with Auto-deprovision off too. */
  scopeChange?: boolean;
  /**
   * Whether the run judged leavers from its start (workflow.ts's load step): one that did not
   * confirmed none and read no scope groups, so it changes nobody's standing even if Auto-deprovision
   * sync was turned on since. Absent: decided by the settings now.
   */
  judgesLeavers?: boolean;
}

interface ConcludeResult {
  status: FinishedStatus;
  deactivated: number;
  reactivated: number;
  wouldDeactivate: number;
}

export async function concludeRun(db: Db, request: ConcludeRequest, now: number): Promise<ConcludeResult> {
  const { runId, organizationId, tenantId, trigger } = request;
  const base = {
    organizationId,
    runId,
    trigger,
    mode: request.mode,
    usersRead: request.usersRead,
    graphRequests: request.graphRequests,
    now,
  };

  const [settings, run] = await Promise.all([
    findSyncSettings(db, organizationId, trigger === "realtime" ? { realtimeSince: now - REALTIME_WINDOW_MS } : {}),
    findRun(db, organizationId, runId),
  ]);
  const stopped: SyncFailure | null = !run
    ? "internal"
    : !settings || settings.status !== "connected"
      ? "not_connected"
      : settings.tenantId !== tenantId
        ? "tenant_changed"
        : trigger !== "preview" && !settings.runsOn && !request.scopeChange
          ? "turned_off"
          : null;
  const failed = async (error: SyncFailure | null): Promise<ConcludeResult> => {
    await recordRunOutcome(db, { ...base, status: "failed", deactivated: 0, reactivated: 0, error, pending: null, deltaLink: null });
    return { status: "failed", deactivated: 0, reactivated: 0, wouldDeactivate: 0 };
  };
  if (stopped || !settings || !run) return failed(stopped);
  // Add new people automatically on its own (issue 20): the run adds people (workflow.ts) and
  // changes nobody's standing; its delta link moves on (turning Auto-deprovision on forgets it, so
  // that run lists everyone: runSettings.ts). Also when Auto-deprovision was turned off meanwhile.
  const onlyScope = onlyScopeChanges(request, settings);
  if (trigger !== "preview" && (request.judgesLeavers === false || (!settings.autoDeprovision && !onlyScope))) {
    const deltaLink = request.deltaLinkEnc ? { tenantId, enc: request.deltaLinkEnc, replaces: request.previousLinkEnc } : null;
    await recordRunOutcome(db, { ...base, status: "succeeded", deactivated: 0, reactivated: 0, error: null, pending: null, deltaLink });
    return { status: "succeeded", deactivated: 0, reactivated: 0, wouldDeactivate: 0 };
  }
  const listedSince = request.listingSince ?? run.startedAt;
  if (trigger !== "preview" && request.heldRunId) {
    const waited = await waitBehindHold(
      db,
      { ...request, heldRunId: request.heldRunId, listedSince, linkedActive: settings.linkedActiveMembers },
      now,
    );
    return waited ?? failed("internal");
  }

  const threshold = { percent: settings.holdThresholdPercent, minimum: settings.holdThresholdMinimum };
  // A retried step starts the list again: it may have saved part of it before.
  await runStatements(db, [clearRunChanges(db, runId)]);
  const list = new ChangeList(db, runId, organizationId, trigger === "preview" ? 0 : CHANGES_IN_MEMORY);
  const sink = onlyScope ? scopeCausesOnly(list) : list;
  let linkedActive: number;
  if (request.mode === "full") {
    const judged = await judgeListing(db, { ...request, listedSince, heldRunId: null }, sink);
    if (judged === null) return failed("internal");
    linkedActive = judged.linkedActive;
  } else {
    const changes = planDirectoryChanges(request.observed, []);
    for (const entry of changes.deactivate) await sink.add("deactivate", entry);
    for (const entry of changes.reactivate) await sink.add("reactivate", entry);
    await addGroupScopeChanges(db, { organizationId, tenantId }, request.scope ?? null, request.observed, sink);
    linkedActive = settings.linkedActiveMembers;
  }
  // A real-time read weighs what real-time reads deactivated in the window with its own, against
  // the members linked before them; a read that deactivates nobody is never held.
  const recentlyDeactivated = list.deactivations > 0 ? settings.realtimeDeactivated : 0;
  const held =
    trigger !== "preview" && exceedsHoldThreshold(list.deactivations + recentlyDeactivated, linkedActive + recentlyDeactivated, threshold);
  // A held run still moves the delta link on, so the next run does not hold the same changes
  // again; Dismiss forgets the link (a full read next).
  const deltaLink =
    trigger !== "preview" && request.deltaLinkEnc ? { tenantId, enc: request.deltaLinkEnc, replaces: request.previousLinkEnc } : null;
  const pending = {
    linkedMembers: linkedActive,
    deactivate: list.deactivations,
    reactivate: list.reactivations,
    tenantId,
    ...(recentlyDeactivated > 0 ? { recentlyDeactivated } : {}),
    // Its list holds only the scope's changes: Apply needs no Auto-deprovision (runActions.ts).
    ...(onlyScope ? { scopeChange: true as const } : {}),
  };

  if (trigger === "preview" || held) {
    await list.save();
    const status = held ? "held" : "previewed";
    await recordRunOutcome(db, { ...base, status, deactivated: 0, reactivated: 0, error: null, pending, deltaLink });
    return { status, deactivated: 0, reactivated: 0, wouldDeactivate: list.deactivations };
  }

  const target = { organizationId, runId, now };
  // A list that went to sync_run_changes is applied from there, once its last entries are saved too.
  if (list.saved) await list.save();
  const { reactivated } = list.saved ? await applySavedChanges(db, target) : await applyDirectoryChanges(db, target, list.inMemory());
  const deactivated = await countDeactivatedByRun(db, organizationId, runId);
  await recordRunOutcome(db, { ...base, status: "succeeded", deactivated, reactivated, error: null, pending: null, deltaLink });
  return { status: "succeeded", deactivated, reactivated, wouldDeactivate: list.deactivations };
}
