// Bulk import: pre-create directory users so they exist before their first sign-in, at any
// directory size (issue 20). A preview and an apply are each a run of the import Workflow
// (import/workflow.ts), one at a time per organization; the page follows its progress from the
// import's row. The apply reads the directory again and decides with the preview's rules
// (import/judge.ts): it never trusts a posted list, and takes from the form only which preview it applies.
import type { Viewer } from "../context.ts";
import type { Db } from "../db/client.ts";
import { findConnectionSummary } from "../db/connections.ts";
import { findImport, type ImportRow } from "../db/directoryImports.ts";
import type { ImportFailure } from "../db/schema.ts";
import type { Config } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";
import { findDirectoryGroup, withInteractiveGraph } from "./interactiveGraph.ts";
import { searchGroups } from "./directory.ts";
import { emptyTally, type ImportTally } from "./import/judge.ts";
import { startImportRun, type ImportWorkflow } from "./import/start.ts";

export const MAX_IMPORT_GROUPS = 20;

export type ImportScope = { scope: "all" } | { scope: "groups"; groupIds: string[] };

/** An import as the Import section shows it. */
export interface ImportView {
  id: string;
  phase: "preview" | "apply";
  status: "running" | "succeeded" | "failed";
  scope: ImportScope;
  groups: { id: string; name: string }[];
  usersRead: number;
  /** An apply: how many users its preview read (the progress bar's end). */
  expectedUsers: number | null;
  tally: ImportTally;
  mappingOn: boolean;
  added: number;
  error: ImportFailure | null;
  /** Microsoft Graph throttled it: it reads again at this time (null while it reads). */
  pausedUntil: number | null;
}

/**
 * Groups found by name, plus the ones already ticked (read from the directory by id, so a posted
 * name is never shown), without repeats.
 */
export async function searchImportGroups(db: Db, config: Config, organizationId: string, text: string, chosenIds: string[]) {
  if (!text && chosenIds.length === 0) return { found: [], chosen: [] };
  return withInteractiveGraph(db, config, organizationId, async (graph) => {
    const chosen = await Promise.all(chosenIds.map((id) => findDirectoryGroup(graph, id)));
    const found = text ? await searchGroups(graph, text) : [];
    const ticked = new Set(chosen.map((g) => g.id.toLowerCase()));
    return {
      found: found.filter((g) => !ticked.has(g.id.toLowerCase())),
      chosen: chosen.map((g) => ({ id: g.id, displayName: g.name })),
    };
  });
}

/** The organization's latest import, for the Import section (null: none yet). */
export async function latestImport(db: Db, organizationId: string): Promise<ImportView | null> {
  const row = await findImport(db, organizationId);
  return row ? viewOf(row) : null;
}

/**
 * Preview: checks the connection and reads the chosen groups by id (an unknown one is invalid
 * input, refused before anything starts), then starts the preview's run.
 */
export async function startImportPreview(
  db: Db,
  config: Config,
  workflow: ImportWorkflow,
  viewer: Viewer,
  scope: ImportScope,
  now: number,
): Promise<ImportView> {
  const connection = await findConnectionSummary(db, viewer.organizationId);
  if (connection?.status !== "connected" || !connection.tenantId)
    throw new AppError("conflict", "Connect Entra ID before importing users.");
  if ((connection.verifiedDomains ?? []).length === 0) {
    throw new AppError("conflict", "The tenant's verified domains are not known yet: refresh the Integrations page, then try again.");
  }
  const groups =
    scope.scope === "groups"
      ? await withInteractiveGraph(db, config, viewer.organizationId, (graph) =>
          Promise.all(scope.groupIds.map((id) => findDirectoryGroup(graph, id))),
        )
      : [];
  return viewOf(
    await startImportRun(
      db,
      workflow,
      viewer,
      { phase: "preview", scope, groups, previewId: null, expectedUsers: null },
      now,
      ALREADY_RUNNING,
    ),
  );
}

/** Apply: the organization's latest import must be the preview named, finished; its scope is read from it. */
export async function startImportApply(
  db: Db,
  workflow: ImportWorkflow,
  viewer: Viewer,
  previewId: string,
  now: number,
): Promise<ImportView> {
  const latest = await findImport(db, viewer.organizationId);
  if (latest?.status === "running") throw new AppError("conflict", ALREADY_RUNNING);
  if (!latest || latest.id !== previewId || latest.phase !== "preview" || latest.status !== "succeeded") {
    throw new AppError("conflict", "That preview is no longer the latest: preview the import again.");
  }
  const preview = viewOf(latest);
  return viewOf(
    await startImportRun(
      db,
      workflow,
      viewer,
      { phase: "apply", scope: preview.scope, groups: preview.groups, previewId, expectedUsers: preview.usersRead },
      now,
      ALREADY_RUNNING,
    ),
  );
}

const ALREADY_RUNNING = "An import is already running for your organization. Wait for it to finish, then try again.";

function viewOf(row: ImportRow): ImportView {
  const tally = { ...emptyTally(), ...(JSON.parse(row.tally) as Partial<ImportTally>) };
  return {
    id: row.id,
    // findImport's "import" kind: never a scope preview's row.
    phase: row.phase === "apply" ? "apply" : "preview",
    status: row.status,
    scope: JSON.parse(row.scope) as ImportScope,
    groups: JSON.parse(row.groups) as { id: string; name: string }[],
    usersRead: row.usersRead,
    expectedUsers: row.expectedUsers,
    tally,
    mappingOn: row.mappingOn,
    added: row.added,
    error: row.error,
    pausedUntil: row.pausedUntil,
  };
}
