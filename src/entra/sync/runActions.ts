// What Owners and Admins do with directory sync on the integration page: start a run or a
// preview, settle a held run (Apply / Dismiss), undo a finished one, set the safety threshold.
// Always the viewer's own organization; every change audited.
import type { Viewer } from "../../context.ts";
import { insertAuditEvent } from "../../db/audit.ts";
import type { Db } from "../../db/client.ts";
import { DEFAULT_HOLD_THRESHOLD } from "../../db/schema.ts";
import { runStatements, statement } from "../../db/statements.ts";
import { reactivateMembersOfRun } from "../../db/syncMembers.ts";
import {
  claimHeldRun,
  dismissHeldRunStatements,
  findRun,
  findSyncSettings,
  listRecentRuns,
  listRunChanges,
  markRunUndone,
  recordAppliedCounts,
  saveHoldThreshold,
  type RunSortKey,
} from "../../db/syncRuns.ts";
import { AppError } from "../../lib/errors.ts";
import { applySavedChanges } from "./applyDirectoryChanges.ts";
import { startSyncRun, type SyncWorkflow } from "./launch.ts";
import { NIGHTLY_SCHEDULE_TEXT, nextNightlyRun } from "./schedule.ts";
import { findSubscription } from "../../db/realtimeSubscriptions.ts";
import { startPendingReread } from "../realtime/reread.ts";
import { renewsAt } from "../realtime/subscription.ts";
import { deactivateAddedByRun } from "../../db/joiners.ts";

/** People shown for a held or previewed run; the rest are counted. */
const LISTED_PEOPLE = 200;
/** Runs per page of run history. */
const RUNS_PAGE_SIZE = 20;

/** A page of run history, newest first, and where the next (older) page starts. */
export async function loadRunHistory(db: Db, organizationId: string, before?: RunSortKey) {
  const rows = await listRecentRuns(db, organizationId, { limit: RUNS_PAGE_SIZE + 1, before });
  const runs = rows.slice(0, RUNS_PAGE_SIZE);
  const last = runs.at(-1);
  const older: RunSortKey | undefined = rows.length > RUNS_PAGE_SIZE && last ? [last.startedAt, last.id] : undefined;
  return { runs, older };
}

export type RunHistoryPage = Awaited<ReturnType<typeof loadRunHistory>>;

export async function loadSyncSection(db: Db, organizationId: string, now: number) {
  const [settings, history, subscription] = await Promise.all([
    findSyncSettings(db, organizationId),
    loadRunHistory(db, organizationId),
    findSubscription(db, organizationId),
  ]);
  const { runs } = history;
  const latest = runs[0];
  const held = runs.find((run) => run.status === "held") ?? null;
  // The list of the held run, else of the latest run when it is a preview.
  const listed = held ?? (latest?.status === "previewed" ? latest : null);
  // The newest read that waited behind the held run: what it found is shown beside the held list.
  const waiting = held
    ? (runs.find((run) => run.status === "skipped" && run.error === "held_run_pending" && run.startedAt >= held.startedAt) ?? null)
    : null;
  // Runs exist with either setting on (issue 20, src/db/runEligibility.ts).
  const runsOn = settings?.runsOn === true;
  return {
    connected: settings?.status === "connected",
    autoDeprovision: settings?.autoDeprovision ?? false,
    runsOn,
    threshold: {
      percent: settings?.holdThresholdPercent ?? DEFAULT_HOLD_THRESHOLD.percent,
      minimum: settings?.holdThresholdMinimum ?? DEFAULT_HOLD_THRESHOLD.minimum,
    },
    nextRunAt: runsOn ? nextNightlyRun(now) : null,
    schedule: NIGHTLY_SCHEDULE_TEXT,
    realtime:
      runsOn && subscription
        ? {
            ...subscription,
            renewsAt: subscription.expiresAt ? renewsAt(subscription.expiresAt) : null,
          }
        : null,
    running: runs.some((run) => run.status === "running"),
    // Microsoft Graph throttled the running run: it reads again at this time (null while it reads).
    pausedUntil: runs.find((run) => run.status === "running")?.pausedUntil ?? null,
    runs,
    olderRuns: history.older,
    listed: listed ? { run: listed, waiting, ...(await listRunChanges(db, organizationId, listed.id, LISTED_PEOPLE)) } : null,
  };
}

export type SyncSectionData = Awaited<ReturnType<typeof loadSyncSection>>;

export async function startRunFromPage(db: Db, workflow: SyncWorkflow, viewer: Viewer, trigger: "sync_now" | "preview", now: number) {
  const settings = await findSyncSettings(db, viewer.organizationId);
  if (settings?.status !== "connected") throw new AppError("conflict", "Connect Entra ID before running directory sync.");
  if (trigger === "sync_now" && !settings.runsOn) {
    throw new AppError(
      "conflict",
      "Turn on Auto-deprovision sync (or Add new people automatically) to run it. Preview shows what it would do without changing anything.",
    );
  }
  const outcome = await startSyncRun(db, workflow, { organizationId: viewer.organizationId, trigger, runId: crypto.randomUUID(), now });
  if (!outcome.started) {
    throw new AppError(
      "conflict",
      outcome.reason === "already_running"
        ? "A sync is already running. It will show here when it finishes."
        : "The sync could not start. Please try again in a moment.",
    );
  }
  return outcome.runId;
}

async function heldRunOf(db: Db, viewer: Viewer, runId: string) {
  const run = await findRun(db, viewer.organizationId, runId);
  if (!run) throw new AppError("not_found", "That sync run does not exist.");
  if (run.status === "superseded") {
    throw new AppError(
      "conflict",
      "A later sync found everyone on this held run enabled again in Entra ID: there is nothing left to apply.",
    );
  }
  if (run.status !== "held") throw new AppError("conflict", "That run is no longer held.");
  return run;
}

/**
 * Once a held run is decided, the reads that waited behind it (and the notifications that came
 * meanwhile) are read: one read from where the held run left the delta link, under the threshold
 * (src/entra/realtime/reread.ts, the invariant). A failure to start it leaves the mark for the
 * next notification or night; the decision itself stands.
 */
async function readWhatWaited(db: Db, workflow: SyncWorkflow, organizationId: string) {
  try {
    await startPendingReread(db, workflow, organizationId, Date.now());
  } catch (error) {
    console.error("read after a held run was decided not started", error instanceof Error ? error.name : typeof error);
  }
}

export async function applyHeldRun(db: Db, workflow: SyncWorkflow, viewer: Viewer, runId: string, now: number) {
  const run = await heldRunOf(db, viewer, runId);
  // Clear refusals first; claimHeldRun checks the same in SQL, against a change in between.
  const settings = await findSyncSettings(db, viewer.organizationId);
  if (settings?.status !== "connected") throw new AppError("conflict", "Connect Entra ID again before applying a held sync.");
  if (settings.tenantId !== (run.pendingChanges?.tenantId ?? null)) {
    throw new AppError("conflict", "Entra ID is now connected to another tenant than this run read: it can no longer be applied.");
  }
  // A saved scope's held list (only its leavers and returners) applies without it (scopeChangeRun.ts).
  if (!settings.autoDeprovision && !run.pendingChanges?.scopeChange)
    throw new AppError("conflict", "Turn on Auto-deprovision sync before applying a held sync.");
  // The run becomes "applied" before any member changes: a Dismiss or a later run that got there
  // first wins, and this request changes nobody.
  const [claimed] = await claimHeldRun(db, viewer.organizationId, runId, viewer.userId);
  if (!claimed) throw new AppError("conflict", "That run is no longer held.");
  const { reactivated } = await applySavedChanges(db, { organizationId: viewer.organizationId, runId, now });
  await runStatements(db, [
    recordAppliedCounts(db, viewer.organizationId, runId, reactivated),
    statement(
      db,
      insertAuditEvent(db, {
        organizationId: viewer.organizationId,
        actorUserId: viewer.userId,
        action: "sync.held_applied",
        details: { runId, reactivated },
        now,
      }),
    ),
  ]);
  await readWhatWaited(db, workflow, viewer.organizationId);
}

export async function dismissHeldRun(db: Db, workflow: SyncWorkflow, viewer: Viewer, runId: string, now: number) {
  await heldRunOf(db, viewer, runId);
  const results = await runStatements(
    db,
    dismissHeldRunStatements(db, { organizationId: viewer.organizationId, runId, userId: viewer.userId, now }),
  );
  if (!results.at(-1)?.meta.changes) throw new AppError("conflict", "That run is no longer held.");
  await readWhatWaited(db, workflow, viewer.organizationId);
}

export async function undoRun(db: Db, viewer: Viewer, runId: string, now: number) {
  const run = await findRun(db, viewer.organizationId, runId);
  if (!run) throw new AppError("not_found", "That sync run does not exist.");
  if ((run.status !== "succeeded" && run.status !== "applied") || run.undoneAt) {
    throw new AppError("conflict", "Only a finished run that has not been undone can be undone.");
  }
  // One transaction: the members come back, each audited, the people it added go (deactivated,
  // never removed: issue 20), and the run is marked undone.
  await runStatements(db, [
    ...reactivateMembersOfRun(db, { organizationId: viewer.organizationId, runId, actorUserId: viewer.userId, now }),
    ...(run.added > 0 ? deactivateAddedByRun(db, { organizationId: viewer.organizationId, runId, actorUserId: viewer.userId, now }) : []),
    markRunUndone(db, viewer.organizationId, runId, viewer.userId, now),
  ]);
}

export async function setHoldThreshold(db: Db, viewer: Viewer, threshold: { percent: number; minimum: number }, now: number) {
  const [saved] = await saveHoldThreshold(db, viewer.organizationId, threshold, now);
  if (!saved) throw new AppError("conflict", "Connect Entra ID before changing its settings.");
  await insertAuditEvent(db, {
    organizationId: viewer.organizationId,
    actorUserId: viewer.userId,
    action: "entra.setting_changed",
    details: { setting: "Sync safety threshold", percent: threshold.percent, minimum: threshold.minimum },
    now,
  }).run();
}
