// The mapping page's "Preview the next run" (issue 19) as a run of the import Workflow
// (workflow.ts) of the phase "next_run": who the next nightly run or Sync now would move after the
// mapping edits waiting for it, from what to what and why, at any directory size (1,000,000
// members in 50 mapped groups as well as 50). The very functions the run uses (../sync/remap.ts),
// with the import's id as the run id and mode "preview", so the preview and the run cannot disagree:
// 1. Read: the mapped groups' transitive members, readMappedGroups' PAGES_PER_STEP Graph pages a
//    step, each page's matches written to the scratch rows (remap_matches) as it is read.
// 2. Decide: the linked active members in object id order, DECIDE_READS_PER_STEP reads of 1,000 a
//    step, by decideMembers in mode "preview" (it writes nothing).
// Only counts and cursors travel between steps. The first PREVIEW_LIST_CAP changes, with names,
// are kept in the row's `tally` (its progress and result, which the page polls). Every step checks
// that Group → Role mapping is still on: turned off meanwhile, the preview stops ("mapping_off").
// The scratch rows are cleared when it ends, whatever the outcome (workflow.ts).
import type { Db } from "../../db/client.ts";
import { findConnectionSummary } from "../../db/connections.ts";
import { findImport, saveImportProgress } from "../../db/directoryImports.ts";
import { findDisplayNames } from "../../db/members.ts";
import type { ImportFailure, MappableRole } from "../../db/schema.ts";
import { runStatements } from "../../db/statements.ts";
import type { Config } from "../../lib/config.ts";
import type { TokenCache } from "../graphAccess.ts";
import { exceedsHoldThreshold } from "../sync/planDirectoryChanges.ts";
import { cleanDirectoryText } from "../sync/profiles.ts";
import { PREVIEW_LIST_CAP, decideMembers, readMappedGroups, type ReadCursor, type RemapPlan, type RemapRun } from "../sync/remap.ts";
import { importFailureOfSync } from "./failures.ts";
import type { ImportRun } from "./pages.ts";

/**
 * Reads of 1,000 members a decide step takes: 2,000 members a step keeps each step's CPU in
 * milliseconds and moves the progress bar often; 1,000,000 members are 500 steps, within a
 * Workflow's step limit beside the read steps (about 50 for 50 groups of 20,000).
 */
const DECIDE_READS_PER_STEP = 2;
/** Longest name kept in the row for a listed change (a directory value: cleaned, shortened with "…"). */
const NAME_MAX = 120;

/** One change as the page lists it. */
export interface NextRunChange {
  displayName: string;
  from: MappableRole;
  to: MappableRole;
  /** The mapped group that decides the new role; null: the default role. */
  becauseOf: string | null;
  userId: string;
}

/** Where the preview stands: small, so it is a step's result and part of the row's `tally`. */
export interface NextRunProgress {
  /** The mapping version previewed (the page says "out of date" once another edit comes). */
  version: number;
  mappedGroups: number;
  /** Linked active members when it started (the progress bar's end while deciding). */
  members: number;
  /** Mapped groups fully read, Graph pages read, and the read steps that read them. */
  groupsRead: number;
  graphPages: number;
  readSteps: number;
  /** Members decided, in how many steps. */
  membersDecided: number;
  decideSteps: number;
  total: number;
  lowered: number;
  /** Changes listed in the row so far (at most PREVIEW_LIST_CAP). */
  listed: number;
  /** Every member is decided: the counts are final. */
  decided: boolean;
  /** The lowering is more than the hold threshold allows: the run would hold it. */
  held: boolean;
}

/** The row's `tally` for this phase. */
export interface NextRunTally {
  progress: NextRunProgress | null;
  /** The plan found no mapping edit waiting (a run applied it between the click and the start). */
  nothingPending?: boolean;
  changes: NextRunChange[];
}

export const startingProgress = (plan: RemapPlan): NextRunProgress => ({
  version: plan.version,
  mappedGroups: plan.mappings.length,
  members: plan.linkedActiveMembers,
  groupsRead: 0,
  graphPages: 0,
  readSteps: 0,
  membersDecided: 0,
  decideSteps: 0,
  total: 0,
  lowered: 0,
  listed: 0,
  decided: false,
  held: false,
});

/** The remap functions' run: the import's id keeps its scratch rows apart from any sync run's. */
const remapRunOf = (run: ImportRun): RemapRun => ({ runId: run.importId, organizationId: run.organizationId, tenantId: run.tenantId });

/** Whether Group → Role mapping is still on: a preview of a run that would not re-decide anyone stops. */
async function mappingStillOn(db: Db, organizationId: string): Promise<boolean> {
  const connection = await findConnectionSummary(db, organizationId);
  return connection?.status === "connected" && connection.groupRoleMapping;
}

/** The row's progress, and nothing listed yet (the read steps come before any change is known). */
function saveProgress(db: Db, importId: string, progress: NextRunProgress, changes: NextRunChange[]) {
  const tally: NextRunTally = { progress, changes };
  return saveImportProgress(db, importId, { usersRead: progress.membersDecided, tally, mappingOn: true });
}

export type NextRunRead =
  | { ok: true; next: ReadCursor | null; progress: NextRunProgress; graphRequests: number; graphBytes: number }
  | { ok: false; reason: ImportFailure; graphRequests: number; graphBytes: number };

/** Read, one step: the next PAGES_PER_STEP pages of the mapped groups, their matches kept as scratch rows. */
export async function readNextRunStep(
  db: Db,
  config: Config,
  run: ImportRun,
  plan: RemapPlan,
  at: { cursor: ReadCursor; progress: NextRunProgress },
  tokens: TokenCache,
): Promise<NextRunRead> {
  if (!(await mappingStillOn(db, run.organizationId))) return { ok: false, reason: "mapping_off", graphRequests: 0, graphBytes: 0 };
  const read = await readMappedGroups(db, config, remapRunOf(run), plan, at.cursor, tokens);
  if (!read.ok)
    return { ok: false, reason: importFailureOfSync(read.reason), graphRequests: read.graphRequests, graphBytes: read.graphBytes };
  const progress: NextRunProgress = {
    ...at.progress,
    groupsRead: read.next ? read.next.group : plan.mappings.length,
    graphPages: at.progress.graphPages + read.pages,
    readSteps: at.progress.readSteps + 1,
  };
  await runStatements(db, [saveProgress(db, run.importId, progress, [])]);
  return { ok: true, next: read.next, progress, graphRequests: read.graphRequests, graphBytes: read.graphBytes };
}

export type NextRunDecide = { ok: true; next: string | null; progress: NextRunProgress } | { ok: false; reason: ImportFailure };

/**
 * Decide, one step: the next slice of members after `after` (object id order), counted; the first
 * changes listed in the row with their names. A retried step finds its changes listed already and
 * lists them once.
 */
export async function decideNextRunStep(
  db: Db,
  run: ImportRun,
  plan: RemapPlan,
  at: { after: string; progress: NextRunProgress },
): Promise<NextRunDecide> {
  if (!(await mappingStillOn(db, run.organizationId))) return { ok: false, reason: "mapping_off" };
  const slice = await decideMembers(db, remapRunOf(run), plan, at.after, "preview", 0, {
    listCap: PREVIEW_LIST_CAP - at.progress.listed,
    maxReads: DECIDE_READS_PER_STEP,
  });
  const lowered = at.progress.lowered + slice.lowered;
  const progress: NextRunProgress = {
    ...at.progress,
    membersDecided: at.progress.membersDecided + slice.read,
    decideSteps: at.progress.decideSteps + 1,
    total: at.progress.total + slice.changes,
    lowered,
    listed: at.progress.listed + slice.listed.length,
    decided: slice.after === null,
    // The run's own rule (remapSteps.ts), on the same counts.
    held: slice.after === null && exceedsHoldThreshold(lowered, plan.linkedActiveMembers, plan.threshold),
  };
  const row = await findImport(db, run.organizationId, run.importId);
  const known = row ? ((JSON.parse(row.tally) as Partial<NextRunTally>).changes ?? []) : [];
  const seen = new Set(known.map((c) => c.userId));
  const fresh = slice.listed.filter((c) => !seen.has(c.userId));
  const names =
    fresh.length > 0
      ? await findDisplayNames(
          db,
          fresh.map((c) => c.userId),
        )
      : new Map<string, string>();
  const changes = [
    ...known,
    ...fresh.map(
      (c): NextRunChange => ({
        displayName: cleanDirectoryText(names.get(c.userId), NAME_MAX) ?? "",
        from: c.fromRole,
        to: c.toRole,
        becauseOf: c.decidingGroup ? cleanDirectoryText(c.decidingGroup.name, NAME_MAX) : null,
        userId: c.userId,
      }),
    ),
  ];
  await runStatements(db, [saveProgress(db, run.importId, progress, changes)]);
  return { ok: true, next: slice.after, progress };
}

/** The plan found nothing waiting: the row says so, and the preview ends. */
export async function recordNothingPending(db: Db, importId: string): Promise<void> {
  const tally: NextRunTally = { progress: null, nothingPending: true, changes: [] };
  await runStatements(db, [saveImportProgress(db, importId, { usersRead: 0, tally, mappingOn: true })]);
}
