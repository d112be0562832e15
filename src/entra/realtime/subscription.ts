// The Graph change-notification subscription behind real-time updates: created when Auto-deprovision
// sync is turned on, renewed before it expires, deleted when it is turned off, on disconnect and
// after a downgrade. One subscription per organization, on `users`, `updated,deleted`.
// Microsoft's pages:
// - create: https://learn.microsoft.com/en-us/graph/api/subscription-post-subscriptions (the
//   permissions table lists `user` with delegated User.Read.All, the consent we already hold)
// - renew: https://learn.microsoft.com/en-us/graph/api/subscription-update
// - delete: https://learn.microsoft.com/en-us/graph/api/subscription-delete
// - lifetime: https://learn.microsoft.com/en-us/graph/api/resources/subscription#subscription-lifetime
//   (users: 41,760 minutes, under 29 days)
import { insertAuditEvent } from "../../db/audit.ts";
import { findConnectionSummary } from "../../db/connections.ts";
import type { Db } from "../../db/client.ts";
import { runStatements } from "../../db/statements.ts";
import type { RealtimeFailure } from "../../db/schema.ts";
import {
  deleteSubscriptionRow,
  findSubscription,
  saveSubscriptionActive,
  saveSubscriptionFailed,
  saveSubscriptionRenewed,
} from "../../db/realtimeSubscriptions.ts";
import type { Config } from "../../lib/config.ts";
import { REALTIME_NOTIFICATION_PATHS, PATHS } from "../../paths.ts";
import { GRAPH_BUDGETS, GraphError } from "../graph.ts";
import { withOrganizationGraph } from "../graphAccess.ts";
import { ConnectionTokenError } from "../tokens.ts";
import { createGraphSubscription, MAX_LIFETIME_MS, renewGraphSubscription } from "./graphSubscription.ts";
import { keepGroupUpdates, stopGroupUpdates } from "./groupSubscription.ts";

/** The documented maximum for `users`: 41,760 minutes. */
export const USERS_MAX_LIFETIME_MS = MAX_LIFETIME_MS;
export { RENEW_WITHIN_MS, renewsAt } from "../sync/schedule.ts";

export function notificationUrls(config: Config) {
  const base = `${config.APP_ORIGIN}${PATHS.realtime}`;
  return {
    notificationUrl: `${base}${REALTIME_NOTIFICATION_PATHS.changes}`,
    lifecycleNotificationUrl: `${base}${REALTIME_NOTIFICATION_PATHS.lifecycle}`,
  };
}

type Outcome = { ok: true; expiresAt: number } | { ok: false; failure: RealtimeFailure };

/** Why it failed, in the page's terms; never Microsoft's message. */
export function realtimeFailureOf(error: unknown): RealtimeFailure {
  if (error instanceof ConnectionTokenError) {
    return error.kind === "needs_reconnect"
      ? "needs_reconnect"
      : error.kind === "not_connected"
        ? "not_connected"
        : error.kind === "provider_unavailable"
          ? "graph_unavailable"
          : "internal";
  }
  if (error instanceof GraphError) {
    if (error.graphCode === "ValidationError") return "validation_failed";
    if (error.kind === "throttled") return "throttled";
    if (error.kind === "forbidden") return "forbidden";
    if (error.kind === "unavailable") return "graph_unavailable";
    return "rejected";
  }
  return "internal";
}

// Creating a subscription is not idempotent (a retry after a lost reply would hold two), so it is
// tried once; renewing and deleting retry as usual. Someone may be waiting on the page.

/**
 * Creates the subscription (replacing one the organization held) and stores it. A failure is stored
 * too, with its reason, for the page; the nightly sync does not depend on it.
 */
export async function startRealtimeUpdates(
  db: Db,
  config: Config,
  organizationId: string,
  actor: string | null,
  now: number,
): Promise<Outcome> {
  await deleteAtGraph(db, config, organizationId);
  try {
    const { subscriptionId, tenantId, clientStateEnc, expiresAt } = await createGraphSubscription(
      db,
      config,
      organizationId,
      { changeType: "updated,deleted", ...notificationUrls(config), resource: "users" },
      now,
    );
    await runStatements(db, [
      saveSubscriptionActive(db, { organizationId, tenantId, subscriptionId, clientStateEnc, expiresAt, now }),
      insertAuditEvent(db, { organizationId, actorUserId: actor, action: "entra.realtime_started", details: { expiresAt }, now }),
    ]);
    // Group membership changes notify /groups, not users (groupSubscription.ts).
    await keepGroupUpdates(db, config, organizationId, notificationUrls(config).notificationUrl, now);
    return { ok: true, expiresAt };
  } catch (error) {
    const failure = realtimeFailureOf(error);
    if (failure === "internal") console.error("real-time updates not started", error instanceof Error ? error.name : typeof error);
    await recordFailure(db, organizationId, null, failure, actor, now);
    return { ok: false, failure };
  }
}

/**
 * Stores the failure for the page. Audited when someone was acting, or when it is news: the nightly
 * retry of a failure already shown is not audited again every night.
 */
async function recordFailure(
  db: Db,
  organizationId: string,
  tenantId: string | null,
  failure: RealtimeFailure,
  actor: string | null,
  now: number,
) {
  const held = await findSubscription(db, organizationId);
  const tenant = tenantId ?? held?.tenantId ?? (await findConnectionSummary(db, organizationId))?.tenantId ?? null;
  const news = actor !== null || held?.status !== "failed";
  await runStatements(db, [
    ...(tenant ? [saveSubscriptionFailed(db, { organizationId, tenantId: tenant, failure, now })] : []),
    ...(news
      ? [insertAuditEvent(db, { organizationId, actorUserId: actor, action: "entra.realtime_failed", details: { reason: failure }, now })]
      : []),
  ]);
}

/** The /groups subscription follows a Group → Role mapping toggle (groupSubscription.ts). */
export function followMappingToggle(db: Db, config: Config, organizationId: string, now: number) {
  return keepGroupUpdates(db, config, organizationId, notificationUrls(config).notificationUrl, now);
}

/** Extends the subscription to the maximum again; one Graph no longer has is created anew. */
export async function renewRealtimeUpdates(db: Db, config: Config, organizationId: string, now: number): Promise<Outcome> {
  const held = await findSubscription(db, organizationId);
  if (!held?.subscriptionId) return startRealtimeUpdates(db, config, organizationId, null, now);
  const subscriptionId = held.subscriptionId;
  try {
    const expiresAt = await renewGraphSubscription(db, config, organizationId, subscriptionId, now);
    await saveSubscriptionRenewed(db, organizationId, subscriptionId, expiresAt, now).run();
    await keepGroupUpdates(db, config, organizationId, notificationUrls(config).notificationUrl, now, true);
    return { ok: true, expiresAt };
  } catch (error) {
    if (error instanceof GraphError && error.kind === "not_found") return startRealtimeUpdates(db, config, organizationId, null, now);
    const failure = realtimeFailureOf(error);
    await recordFailure(db, organizationId, held.tenantId, failure, null, now);
    return { ok: false, failure };
  }
}

/** Stops real-time updates: deleted at Graph when it can be, and forgotten here either way. */
export async function stopRealtimeUpdates(
  db: Db,
  config: Config,
  organizationId: string,
  actor: string | null,
  now: number,
): Promise<void> {
  await stopGroupUpdates(db, config, organizationId);
  const held = await findSubscription(db, organizationId);
  if (!held) return;
  await deleteAtGraph(db, config, organizationId);
  await runStatements(db, [
    deleteSubscriptionRow(db, organizationId),
    insertAuditEvent(db, { organizationId, actorUserId: actor, action: "entra.realtime_stopped", details: {}, now }),
  ]);
}

/**
 * Best effort: a subscription Graph already dropped (404) is gone; when the token is gone too, the
 * subscription lapses by itself within its lifetime, and its notifications name an id we no longer
 * hold, which the webhook acknowledges (202, so Graph does not retry them) without writing anything.
 */
async function deleteAtGraph(db: Db, config: Config, organizationId: string): Promise<void> {
  const held = await findSubscription(db, organizationId);
  if (!held?.subscriptionId) return;
  const subscriptionId = held.subscriptionId;
  try {
    await withOrganizationGraph(
      db,
      config,
      organizationId,
      (graph) => graph.remove(`/v1.0/subscriptions/${encodeURIComponent(subscriptionId)}`),
      GRAPH_BUDGETS.interactive,
    );
  } catch (error) {
    if (error instanceof GraphError && error.kind === "not_found") return;
    if (!(error instanceof GraphError) && !(error instanceof ConnectionTokenError)) throw error;
  }
}
