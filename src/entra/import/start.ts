// The start of a run of the import Workflow: an Import preview or apply (bulkImport.ts), a sync
// scope change's preview (scopeChange.ts) or a preview of the next run (nextRunPreview.ts). One
// runs at a time per organization (directory_imports_running), so a row left 'running' by an
// instance that died before its end() (over its step limit, terminated, errored, gone) would refuse
// every start. Before refusing, the start asks the Workflow about the running row's instance: an
// instance that is over, or never existed, no longer runs it, so its row is closed as failed and its
// scratch rows cleared, and the start goes ahead.
import type { Viewer } from "../../context.ts";
import type { Db } from "../../db/client.ts";
import {
  clearImportScratch,
  findImport,
  findRunningImport,
  finishImport,
  insertImportUnlessRunning,
  type ImportParams,
  type ImportRow,
} from "../../db/directoryImports.ts";
import { runStatements } from "../../db/statements.ts";
import { AppError } from "../../lib/errors.ts";
import { clearRemapScratch } from "../sync/remap.ts";

/** The IMPORT_WORKFLOW binding: the one place an import's instance is created. */
export type ImportWorkflow = Workflow<ImportParams>;

export interface ImportStart {
  phase: ImportRow["phase"];
  scope: unknown;
  groups: { id: string; name: string }[];
  previewId: string | null;
  expectedUsers: number | null;
}

/**
 * A running row this old is closed whatever its instance says: no run takes a day (a
 * 1,000,000-user apply is ~9,000–11,000 steps of seconds each), and the page must not wait forever.
 */
const STALE_AFTER_MS = 24 * 60 * 60 * 1000;
/**
 * The row is written just before its instance is created: an instance not found this soon after may
 * still be on its way (a start at the same moment), so only an older row's missing instance is dead.
 */
const CREATE_GRACE_MS = 60 * 1000;
/** The instance statuses after which it never writes the row again (https://developers.cloudflare.com/workflows/build/workers-api/#instancestatus). */
const OVER = new Set<InstanceStatus["status"]>(["errored", "terminated", "complete"]);
/** Scratch rows deleted per statement when a dead import's are cleared here (up to one per directory user). */
const CLEAR_PER_STATEMENT = 20_000;

/**
 * Starts a run; `busy` is what the caller's page says when another one runs. Returns the new row
 * (failed 'not_started' if the Workflows service refused the instance).
 */
export async function startImportRun(
  db: Db,
  workflow: ImportWorkflow,
  viewer: Viewer,
  start: ImportStart,
  now: number,
  busy: string,
): Promise<ImportRow> {
  const id = crypto.randomUUID();
  const organizationId = viewer.organizationId;
  const row = { id, organizationId, ...start, startedBy: viewer.userId, now };
  if (!(await insertImportUnlessRunning(db, row))) {
    // A start at the same moment may take the slot the dead row frees: then this one is refused.
    if (!(await closeDeadImport(db, workflow, organizationId, now)) || !(await insertImportUnlessRunning(db, row))) {
      throw new AppError("conflict", busy);
    }
  }
  try {
    await workflow.create({ id, params: { importId: id, organizationId } });
  } catch (error) {
    // The Workflows service refused: close the row, so the next start is not refused for it.
    console.error("import could not start", error instanceof Error ? error.message.slice(0, 200) : typeof error);
    await runStatements(db, [finishImport(db, id, { error: "not_started", now: Date.now() })]);
  }
  const started = await findImport(db, organizationId, id);
  if (!started) throw new Error("the import's row is gone right after it was written");
  return started;
}

/** Closes the organization's running import as failed if its instance no longer runs it; returns whether it did. */
async function closeDeadImport(db: Db, workflow: ImportWorkflow, organizationId: string, now: number): Promise<boolean> {
  const running = await findRunningImport(db, organizationId);
  if (!running) return true; // it ended meanwhile
  if (running.startedAt >= now - STALE_AFTER_MS && (await instanceRuns(workflow, running, now))) return false;
  console.warn("an import's instance ended without closing its row", running.id);
  await runStatements(db, [finishImport(db, running.id, { error: "internal", now })]);
  while ((await clearImportScratch(db, running.id, CLEAR_PER_STATEMENT)) === CLEAR_PER_STATEMENT);
  if (running.phase === "next_run") while (!(await clearRemapScratch(db, running.id)));
  return true;
}

async function instanceRuns(workflow: ImportWorkflow, row: ImportRow, now: number): Promise<boolean> {
  let status: InstanceStatus["status"];
  try {
    status = (await (await workflow.get(row.id)).status()).status;
  } catch (error) {
    // get() throws "instance.not_found" for an instance that does not exist; any other failure of
    // the Workflows service says nothing of the instance, so the row is left to it.
    const message = error instanceof Error ? error.message : "";
    if (!message.includes("instance.not_found")) {
      console.error("an import's instance could not be read", message.slice(0, 200));
      return true;
    }
    return row.startedAt >= now - CREATE_GRACE_MS;
  }
  return !OVER.has(status);
}
