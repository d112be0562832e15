// Closing a run: its row (outcome, counts, error), one audit event, its next delta link, the held
// run it found nobody left on (if any) and the re-read it asks for, written together; the pages it
// saw are deleted with them.
import type { Db } from "../../db/client.ts";
import type { PendingChanges, SyncFailure } from "../../db/schema.ts";
import { markRereadPending } from "../../db/realtimeSubscriptions.ts";
import { runStatements } from "../../db/statements.ts";
import { deleteSeenPages } from "../../db/syncSeen.ts";
import {
  finishRun,
  insertRunFinishedAudit,
  releaseHeldRun,
  runIsOpen,
  saveDeltaLink,
  type FinishedStatus,
  type SyncMode,
  type SyncTrigger,
} from "../../db/syncRuns.ts";
import { insertEventsFor } from "../../db/outbox.ts";
import { publicTrigger } from "../../eventCatalogue.ts";

/** What a run read, as it comes to be judged (concludeRun.ts) or to wait behind a held run (waitBehindHold.ts). */
export interface RunRead {
  runId: string;
  organizationId: string;
  tenantId: string;
  trigger: SyncTrigger;
  mode: SyncMode;
  usersRead: number;
  graphRequests: number;
}

interface RunOutcome {
  organizationId: string;
  runId: string;
  trigger: SyncTrigger;
  status: FinishedStatus;
  mode: SyncMode | null;
  usersRead: number;
  deactivated: number;
  reactivated: number;
  graphRequests: number;
  error: SyncFailure | null;
  /** A held or previewed run's summary, with the tenant it was read from (Apply checks it). */
  pending: PendingChanges | null;
  /** The next delta link to store (sealed), its tenant, and the stored link it replaces. */
  deltaLink: { tenantId: string; enc: string; replaces: string | null } | null;
  /** The held run this run found everyone on enabled again (concludeRun.ts): it ends, superseded. */
  releases?: string | null;
  /** Ask for one more read (realtimeSubscriptions.ts markRereadPending): this run waited behind a held run. */
  rereadAfter?: boolean;
  now: number;
}

/** A run the Workflows service refused to start: it read nothing and ends "failed" (internal), so nothing waits on it. */
export function failedRunOutcome(run: { organizationId: string; runId: string; trigger: SyncTrigger; now: number }): RunOutcome {
  return {
    ...run,
    status: "failed",
    mode: null,
    usersRead: 0,
    deactivated: 0,
    reactivated: 0,
    graphRequests: 0,
    error: "internal",
    pending: null,
    deltaLink: null,
  };
}

export async function recordRunOutcome(db: Db, outcome: RunOutcome) {
  const { organizationId, runId, now } = outcome;
  const details = {
    runId,
    trigger: outcome.trigger,
    mode: outcome.mode,
    outcome: outcome.status,
    usersRead: outcome.usersRead,
    deactivated: outcome.deactivated,
    reactivated: outcome.reactivated,
    graphRequests: outcome.graphRequests,
    ...(outcome.pending ? { wouldDeactivate: outcome.pending.deactivate, wouldReactivate: outcome.pending.reactivate } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
  };
  // The audit row and the event go first: they are written only while the run is open, and finishRun closes it.
  await runStatements(db, [
    insertRunFinishedAudit(db, organizationId, runId, details, now),
    ...runEvent(outcome),
    finishRun(db, organizationId, runId, {
      status: outcome.status,
      mode: outcome.mode,
      usersRead: outcome.usersRead,
      // A succeeded run's caller counted its deactivations just now; any other outcome is counted in SQL.
      ...(outcome.status === "succeeded" ? { deactivated: outcome.deactivated } : {}),
      reactivated: outcome.reactivated,
      graphRequests: outcome.graphRequests,
      error: outcome.error,
      pendingChanges: outcome.pending,
      now,
    }),
    ...(outcome.deltaLink ? [saveDeltaLink(db, { organizationId, ...outcome.deltaLink, now })] : []),
    ...(outcome.releases ? releaseHeldRun(db, { organizationId, heldRunId: outcome.releases, runId, now }) : []),
    ...(outcome.rereadAfter ? [markRereadPending(db, organizationId, now)] : []),
    deleteSeenPages(db, runId),
  ]);
}

/** sync.run.held or sync.run.failed; the other outcomes raise no event. */
function runEvent(outcome: RunOutcome) {
  const { organizationId, runId, now } = outcome;
  const rows = { where: runIsOpen(organizationId, runId) };
  const common = { organization_id: organizationId, run_id: runId, users_read: outcome.usersRead };
  if (outcome.status === "failed") {
    return [
      insertEventsFor(
        "sync.run.failed",
        {
          organizationId,
          now,
          data: {
            ...common,
            trigger: publicTrigger(outcome.trigger),
            mode: outcome.mode,
            would_deactivate: null,
            would_reactivate: null,
            error: outcome.error,
          },
        },
        rows,
      ),
    ];
  }
  if (outcome.status !== "held") return [];
  const { trigger, mode, pending } = outcome;
  // concludeRun holds only a complete read that is not a preview, with its counts.
  if (trigger === "preview" || !mode || !pending) throw new Error("a held run has a mode and counts, and is never a preview");
  return [
    insertEventsFor(
      "sync.run.held",
      {
        organizationId,
        now,
        data: {
          ...common,
          trigger: publicTrigger(trigger),
          mode,
          would_deactivate: pending.deactivate,
          would_reactivate: pending.reactivate,
          error: null,
        },
      },
      rows,
    ),
  ];
}
