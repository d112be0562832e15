// Which directory problems an Owner or Admin is told about on every page, until resolved:
// a held run (Apply or Dismiss it), the connection needing reconnect (Connect Entra ID again), and
// the last run having failed, and SCIM deactivations held by the burst threshold (Apply or Dismiss
// them on the SCIM provisioning page). Everyone else is never told, and costs no read.
//
// The banner also names webhook endpoints that deliveries disabled because they kept failing
// (Enable is the fix), though they are not the directory's: they matter to the same viewers, and
// sharing this banner, its slot and its one statement costs them no second read per page. The
// "directory" names (module, slot, `directory-alerts` element) stay, to keep the change small.
import type { Viewer } from "../context.ts";
import type { Db } from "../db/client.ts";
import { findAlertsState, type AlertsState, type DirectoryGlance, type FailingEndpoint } from "../db/alertsState.ts";
import type { PendingChanges, SyncFailure } from "../db/schema.ts";
import { isOwnerOrAdmin } from "../auth/access.ts";
import { nextNightlyRun } from "../entra/sync/schedule.ts";
import { planHas } from "../plans.ts";

export type DirectoryAlert =
  | { kind: "needs_reconnect" }
  | { kind: "held"; runId: string; startedAt: number; pending: PendingChanges | null }
  | { kind: "failed"; runId: string; startedAt: number; error: SyncFailure | null }
  | { kind: "webhook_disabled"; endpoints: FailingEndpoint[] }
  | { kind: "scim_held"; count: number; since: number };

/** Whether this viewer is shown the directory's state: Owners and Admins of an organization whose plan has directory sync. */
export function seesDirectory(viewer: Viewer | null): viewer is Viewer {
  // On other plans nothing runs and the directory's pages refuse, so there is nothing to fix from here.
  return viewer !== null && isOwnerOrAdmin(viewer.role) && planHas(viewer.plan, "directorySync");
}

/** Whether this viewer is shown the banner: the directory's state, or event webhooks', is theirs to see. */
export function seesAlerts(viewer: Viewer | null): viewer is Viewer {
  return viewer !== null && isOwnerOrAdmin(viewer.role) && (planHas(viewer.plan, "directorySync") || planHas(viewer.plan, "eventWebhooks"));
}

/**
 * The viewer's organization's directory state and disabled endpoints, or null without a read for
 * anyone who is not shown them. Each half only on a plan with its feature: without event webhooks
 * nothing is sent (the Webhooks page offers only Disable and Delete), so no endpoint is failing.
 */
export async function loadAlertsState(db: Db, viewer: Viewer | null): Promise<AlertsState | null> {
  if (!seesAlerts(viewer)) return null;
  const state = await findAlertsState(db, viewer.organizationId);
  return {
    directory: seesDirectory(viewer) ? state.directory : null,
    failingEndpoints: planHas(viewer.plan, "eventWebhooks") ? state.failingEndpoints : [],
    // Held SCIM deactivations show on any plan: Apply and Dismiss work after a downgrade too.
    scimHeld: state.scimHeld,
  };
}

/** The open problems, the directory's first (leavers keep their access), then the webhook endpoints'. */
export function directoryAlerts(state: AlertsState | null): DirectoryAlert[] {
  if (!state) return [];
  const scim: DirectoryAlert[] = state.scimHeld ? [{ kind: "scim_held", ...state.scimHeld }] : [];
  return [...scim, ...connectionAlerts(state.directory), ...endpointAlerts(state.failingEndpoints)];
}

/**
 * The directory's open problems, most urgent first. Each disappears with its cause:
 * - "Needs reconnect" once the tenant is connected again (or disconnected).
 * - A held run once it is applied or dismissed (or a later read finds everyone on it enabled
 *   again); shown only while connected, because that is when the page offers Apply and Dismiss
 *   (reconnecting brings it back).
 * - A failed run once a later run that could change members (nightly, "Sync now" or a real-time
 *   update; db/alertsState.ts says why real-time reads count) ends otherwise. Only while connected with
 *   Auto-deprovision on (turning it off means no run is expected), and only a failure since the
 *   connection was made: a reconnect is the fix for most failures. Previews are left out: they
 *   change nobody, and the person who started one sees its result.
 */
function connectionAlerts(state: DirectoryGlance | null): DirectoryAlert[] {
  if (!state) return [];
  if (state.status === "needs_reconnect") return [{ kind: "needs_reconnect" }];
  if (state.status !== "connected") return [];
  const alerts: DirectoryAlert[] = [];
  const { heldRun, lastRun } = state;
  if (heldRun) alerts.push({ kind: "held", runId: heldRun.id, startedAt: heldRun.startedAt, pending: heldRun.pendingChanges });
  if (state.runsExist && lastRun?.status === "failed" && lastRun.startedAt >= (state.connectedAt ?? 0)) {
    alerts.push({ kind: "failed", runId: lastRun.id, startedAt: lastRun.startedAt, error: lastRun.error });
  }
  return alerts;
}

/**
 * One alert for the endpoints disabled as failing (the banner names one, or counts several). An
 * endpoint leaves it when enabled again (which clears `disabled_reason`) or deleted; one disabled
 * by hand is someone's choice, not a problem to report.
 */
function endpointAlerts(endpoints: FailingEndpoint[]): DirectoryAlert[] {
  return endpoints.length > 0 ? [{ kind: "webhook_disabled", endpoints }] : [];
}

/**
 * When the next nightly run starts, or null when none will: not connected, or neither
 * Auto-deprovision sync nor Add new people automatically on (src/db/runEligibility.ts).
 */
export function nextRunOf(state: DirectoryGlance | null, now: number): number | null {
  return state?.status === "connected" && state.runsExist ? nextNightlyRun(now) : null;
}
