// Changing the sync scope on the Entra page (issue 20), at any directory size.
// - Preview: a run of the import Workflow (import/scopePreview.ts), one Graph page a step with its
//   scratch rows, never more than a page of users in memory; the section polls its progress and
//   then shows how many people, and who, would be added (enabled, in scope, not members yet: what
//   auto-provisioning, Import and Add new people automatically may bring in), deactivated ("left the
//   sync scope"; never the last Owner) and reactivated (back in the scope). One at a time per
//   organization, as imports are (they share the table and the Graph budget).
// - Save: names the preview it saves (never a posted list): the proposed scope is read from that
//   preview's row, and the scope is stored, audited with the preview's counts, and applied by a
//   directory run started at once ("Sync now", scopeChangeRun.ts). That run lists the directory
//   again (the save forgets the delta link) and judges every linked member against the saved scope,
//   so who changes is decided again by the run, with every leaver rule: the hold threshold (a
//   900,000-person change is held with its list for Apply or Dismiss, never written in a request),
//   never the last Owner, never someone deactivated by hand, sessions ended, Undo. A small tenant's
//   run takes seconds; the section polls it and shows its counts.
// The save is refused (409, nothing written) while another directory run is going: its scope would
// otherwise wait for the nightly run.
import type { Viewer } from "../context.ts";
import { insertAuditEvent } from "../db/audit.ts";
import type { Db } from "../db/client.ts";
import { findConnectionSummary } from "../db/connections.ts";
import { findImport, type ImportRow } from "../db/directoryImports.ts";
import { forgetDeltaLink } from "../db/runEligibility.ts";
import type { ImportFailure } from "../db/schema.ts";
import { runStatements, statement } from "../db/statements.ts";
import { findRun } from "../db/syncRuns.ts";
import { findScope, saveScope } from "../db/syncScope.ts";
import type { Config } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";
import { startImportRun, type ImportWorkflow } from "./import/start.ts";
import { emptyScopeTally, type ProposedScope, type ScopeTally } from "./import/scopePreview.ts";
import { findDirectoryGroup, withInteractiveGraph } from "./interactiveGraph.ts";
import { startSyncRun, type SyncWorkflow } from "./sync/launch.ts";

export type { ProposedScope } from "./import/scopePreview.ts";

/** A scope preview as the Sync scope section shows it. */
export interface ScopePreviewView {
  id: string;
  status: "running" | "succeeded" | "failed";
  proposed: ProposedScope;
  groups: { id: string; name: string }[];
  usersRead: number;
  tally: ScopeTally;
  error: ImportFailure | null;
  /** Microsoft Graph throttled it: it reads again at this time (null while it reads). */
  pausedUntil: number | null;
}

/** The run a save started, as the section follows it. */
export interface ScopeRunView {
  runId: string;
  status: string;
  deactivated: number;
  reactivated: number;
  /** A held run: how many it would deactivate. */
  wouldDeactivate: number;
  /** Microsoft Graph throttled the running run: it reads again at this time (null while it reads). */
  pausedUntil: number | null;
}

function viewOf(row: ImportRow): ScopePreviewView {
  return {
    id: row.id,
    status: row.status,
    proposed: JSON.parse(row.scope) as ProposedScope,
    groups: JSON.parse(row.groups) as { id: string; name: string }[],
    usersRead: row.usersRead,
    tally: { ...emptyScopeTally(), ...(JSON.parse(row.tally) as Partial<ScopeTally>) },
    error: row.error,
    pausedUntil: row.pausedUntil,
  };
}

/** The organization's latest scope preview (null: none yet). */
export async function latestScopePreview(db: Db, organizationId: string): Promise<ScopePreviewView | null> {
  const row = await findImport(db, organizationId, undefined, "scope");
  return row ? viewOf(row) : null;
}

/** The connection and the proposed domains, checked against the tenant's verified domains. */
async function checkProposed(db: Db, organizationId: string, proposed: ProposedScope) {
  const connection = await findConnectionSummary(db, organizationId);
  if (connection?.status !== "connected" || !connection.tenantId)
    throw new AppError("conflict", "Connect Entra ID before choosing its sync scope.");
  const known = new Set((await findScope(db, organizationId)).domains.map((d) => d.name));
  const unknown = proposed.domains.find((d) => !known.has(d));
  if (unknown) throw new AppError("invalid_input", `${unknown} is not one of the tenant's verified domains.`);
}

/** Starts the preview's run: the groups are read by id first (an unknown one is refused before anything starts). */
export async function startScopePreview(
  db: Db,
  config: Config,
  workflow: ImportWorkflow,
  viewer: Viewer,
  proposed: ProposedScope,
  now: number,
): Promise<ScopePreviewView> {
  await checkProposed(db, viewer.organizationId, proposed);
  const groups =
    proposed.mode === "groups"
      ? await withInteractiveGraph(db, config, viewer.organizationId, (graph) =>
          Promise.all(proposed.groupIds.map((id) => findDirectoryGroup(graph, id))),
        )
      : [];
  const row = await startImportRun(
    db,
    workflow,
    viewer,
    { phase: "scope", scope: proposed, groups, previewId: null, expectedUsers: null },
    now,
    "An import or a sync scope preview is already running for your organization. Wait for it to finish, then try again.",
  );
  return viewOf(row);
}

/**
 * Saves the scope of the preview named (the organization's latest, finished), audited with its
 * counts, and starts the run that applies it. Returns the preview and the run's id.
 */
export async function saveScopeChange(db: Db, workflow: SyncWorkflow, viewer: Viewer, previewId: string, now: number) {
  const { organizationId, userId: actorUserId } = viewer;
  const latest = await findImport(db, organizationId, undefined, "scope");
  if (!latest || latest.id !== previewId || latest.status !== "succeeded") {
    throw new AppError("conflict", "That preview is no longer the latest: preview the change again.");
  }
  const preview = viewOf(latest);
  const { proposed, groups, tally } = preview;
  // A domain Entra removed since the preview: the preview no longer says what saving would do.
  await checkProposed(db, organizationId, proposed).catch((error: unknown) => {
    if (error instanceof AppError && error.code === "invalid_input")
      throw new AppError("conflict", "The tenant's domains changed since this preview: preview the change again.");
    throw error;
  });
  const runId = crypto.randomUUID();
  const started = await startSyncRun(db, workflow, { organizationId, trigger: "sync_now", runId, now, scopeChange: true }, async () => {
    await runStatements(db, [
      ...saveScope(db, organizationId, { mode: proposed.mode, groups, chosenDomains: proposed.domains }, actorUserId, now),
      // The run lists everyone: a delta round would not list again the people the new scope moves.
      statement(db, forgetDeltaLink(organizationId, now)),
      insertAuditEvent(db, {
        organizationId,
        actorUserId,
        action: "entra.scope_changed",
        // The preview's counts (what the Owner or Admin saw); the run's own are in its history.
        details: {
          mode: proposed.mode,
          groups: groups.map((g) => g.name),
          domains: proposed.domains,
          wouldAdd: tally.added.count,
          deactivated: tally.deactivated.count,
          reactivated: tally.reactivated.count,
          previewId,
          runId,
        },
        now,
      }),
    ]);
  });
  if (!started.started) {
    throw new AppError(
      "conflict",
      started.reason === "already_running"
        ? "A directory sync is running: save the scope once it has finished."
        : "The directory run could not start: save the scope again.",
    );
  }
  return { preview, runId };
}

/** The run a save started, for the section's follow-up (null: not this organization's). */
export async function scopeRunOf(db: Db, organizationId: string, runId: string): Promise<ScopeRunView | null> {
  const run = await findRun(db, organizationId, runId);
  if (!run) return null;
  return {
    runId,
    status: run.status,
    deactivated: run.deactivated ?? 0,
    reactivated: run.reactivated ?? 0,
    wouldDeactivate: run.pendingChanges?.deactivate ?? 0,
    pausedUntil: run.status === "running" ? run.pausedUntil : null,
  };
}
