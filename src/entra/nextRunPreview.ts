// The mapping page's "Preview the next run" (issue 19): who the next nightly run or Sync now would
// move after the mapping edits waiting for it, from what to what and why, at any directory size.
// It is a run of the import Workflow (import/nextRunSteps.ts, migrations/0030: a directory_imports
// row of the phase "next_run") that runs the very functions the run uses (sync/remap.ts) in mode
// "preview": it writes only its row and the scratch it clears, never a role, a held list or the
// mapping's version. The section polls the row's progress, then shows the result; a reload shows
// the latest preview. Mapping off and nothing waiting are answered at once, with no run. One import
// or preview runs at a time per organization (they share the table and the Graph budget): a start
// while one runs is refused (409) and starts nothing.
import { roleRank } from "../auth/access.ts";
import type { Viewer } from "../context.ts";
import type { Db } from "../db/client.ts";
import { findConnectionSummary } from "../db/connections.ts";
import { findImport, type ImportRow } from "../db/directoryImports.ts";
import { findPendingMappingEdit } from "../db/mappingEdits.ts";
import type { ImportFailure } from "../db/schema.ts";
import { AppError } from "../lib/errors.ts";
import { startImportRun, type ImportWorkflow } from "./import/start.ts";
import type { NextRunChange, NextRunProgress, NextRunTally } from "./import/nextRunSteps.ts";

export type { NextRunChange, NextRunProgress } from "./import/nextRunSteps.ts";

export type NextRunPreview =
  | { state: "mapping_off" }
  | { state: "nothing_pending" }
  /** pausedUntil: Microsoft Graph throttled it, it reads again then (null while it reads). */
  | { state: "running"; id: string; progress: NextRunProgress | null; pausedUntil: number | null }
  | { state: "failed"; id: string; error: ImportFailure; finishedAt: number | null }
  | {
      state: "ready";
      id: string;
      finishedAt: number | null;
      changes: NextRunChange[];
      total: number;
      lowered: number;
      held: boolean;
      /** The mapping was edited again (or a run applied it) since: the preview no longer says what the next run does. */
      outOfDate: boolean;
    };

/** Lowered roles first, then by name: the lowerings, which a threshold may hold, stand out at the top; the raised follow. */
const byChange = (a: NextRunChange, b: NextRunChange) =>
  roleRank(a.to) - roleRank(a.from) - (roleRank(b.to) - roleRank(b.from)) || a.displayName.localeCompare(b.displayName);

function viewOf(row: ImportRow, pendingVersion: number | null): NextRunPreview {
  const tally = JSON.parse(row.tally) as Partial<NextRunTally>;
  if (row.status === "running") return { state: "running", id: row.id, progress: tally.progress ?? null, pausedUntil: row.pausedUntil };
  if (row.status === "failed") return { state: "failed", id: row.id, error: row.error ?? "internal", finishedAt: row.finishedAt };
  if (tally.nothingPending || !tally.progress) return { state: "nothing_pending" };
  const { progress } = tally;
  return {
    state: "ready",
    id: row.id,
    finishedAt: row.finishedAt,
    changes: [...(tally.changes ?? [])].sort(byChange),
    total: progress.total,
    lowered: progress.lowered,
    held: progress.held,
    outOfDate: pendingVersion !== progress.version,
  };
}

/** The organization's latest preview of the next run (null: none yet). */
export async function latestNextRunPreview(db: Db, organizationId: string): Promise<NextRunPreview | null> {
  const row = await findImport(db, organizationId, undefined, "next_run");
  if (!row) return null;
  return viewOf(row, (await findPendingMappingEdit(db, organizationId))?.version ?? null);
}

/** Starts a preview, or answers at once when there is nothing to preview. */
export async function startNextRunPreview(db: Db, workflow: ImportWorkflow, viewer: Viewer, now: number): Promise<NextRunPreview> {
  const connection = await findConnectionSummary(db, viewer.organizationId);
  if (connection?.status !== "connected" || !connection.tenantId)
    throw new AppError("conflict", "Connect Entra ID before mapping groups to roles.");
  if (!connection.groupRoleMapping) return { state: "mapping_off" };
  const pending = await findPendingMappingEdit(db, viewer.organizationId);
  if (!pending) return { state: "nothing_pending" };
  const row = await startImportRun(
    db,
    workflow,
    viewer,
    { phase: "next_run", scope: {}, groups: [], previewId: null, expectedUsers: null },
    now,
    "An import or another preview is already running for your organization. Wait for it to finish, then preview the next run.",
  );
  return viewOf(row, pending.version);
}
