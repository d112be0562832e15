// Which directory problems an Owner or Admin is told about on every page, until resolved:
// a held run (Apply or Dismiss it), the connection needing reconnect (Connect Entra ID again), and
// the last run having failed. Everyone else is never told, and costs no read.
import type { Viewer } from "../context.ts";
import type { Db } from "../db/client.ts";
import { findDirectoryState, type DirectoryState } from "../db/directoryState.ts";
import type { PendingChanges, SyncFailure } from "../db/schema.ts";
import { isOwnerOrAdmin } from "../auth/access.ts";
import { nextNightlyRun } from "./sync/schedule.ts";

export type DirectoryAlert =
  | { kind: "needs_reconnect" }
  | { kind: "held"; runId: string; startedAt: number; pending: PendingChanges | null }
  | { kind: "failed"; runId: string; startedAt: number; error: SyncFailure | null };

/** Whether this viewer is shown the directory's state: Owners and Admins of an Enterprise organization. */
export function seesDirectoryState(viewer: Viewer | null): viewer is Viewer {
  // Directory sync is Enterprise-only: on other plans nothing runs and its pages refuse, so there
  // is nothing to fix from a banner.
  return viewer !== null && isOwnerOrAdmin(viewer.role) && viewer.plan === "enterprise";
}

/** The viewer's organization's directory state, or null without a read for anyone who is not shown it. */
export async function loadDirectoryState(db: Db, viewer: Viewer | null): Promise<DirectoryState | null> {
  return seesDirectoryState(viewer) ? findDirectoryState(db, viewer.organizationId) : null;
}

/**
 * The open problems, most urgent first. Each disappears with its cause:
 * - "Needs reconnect" once the tenant is connected again (or disconnected).
 * - A held run once it is applied, dismissed or superseded by a later run; shown only while
 *   connected, because that is when the page offers Apply and Dismiss (reconnecting brings it back).
 * - A failed run once a later nightly or "Sync now" run ends otherwise. Only while connected with
 *   Auto-deprovision on (turning it off means no run is expected), and only a failure since the
 *   connection was made: a reconnect is the fix for most failures. Previews are left out: they
 *   change nobody, and the person who started one sees its result.
 */
export function directoryAlerts(state: DirectoryState | null): DirectoryAlert[] {
  if (!state) return [];
  if (state.status === "needs_reconnect") return [{ kind: "needs_reconnect" }];
  if (state.status !== "connected") return [];
  const alerts: DirectoryAlert[] = [];
  const { heldRun, lastRun } = state;
  if (heldRun) alerts.push({ kind: "held", runId: heldRun.id, startedAt: heldRun.startedAt, pending: heldRun.pendingChanges });
  if (state.autoDeprovision && lastRun?.status === "failed" && lastRun.startedAt >= (state.connectedAt ?? 0)) {
    alerts.push({ kind: "failed", runId: lastRun.id, startedAt: lastRun.startedAt, error: lastRun.error });
  }
  return alerts;
}

/** When the next nightly run starts, or null when none will (not connected, or Auto-deprovision off). */
export function nextRunOf(state: DirectoryState | null, now: number): number | null {
  return state?.status === "connected" && state.autoDeprovision ? nextNightlyRun(now) : null;
}
