// The second subscription behind real-time updates: on `/groups`, `updated`, held while real-time
// updates are on (Auto-deprovision sync) and Group → Role mapping is on (keepGroupUpdates). A member added to or
// removed from a group is an `updated` change of the group, not of the user
// (https://learn.microsoft.com/en-us/graph/api/resources/webhooks: `group`, resource `/groups`), so
// without it a group change would wait for the nightly run. Created, renewed and deleted with the
// users one (subscription.ts calls these); its notifications go to the same URL and start the same
// delta read, whose role step reads the group delta (src/entra/sync/groupRoles.ts).
// Permission: delegated Group.Read.All, which the connection already holds (the permissions table of
// https://learn.microsoft.com/en-us/graph/api/subscription-post-subscriptions). Lifetime: 41,760
// minutes, as for users (https://learn.microsoft.com/en-us/graph/api/resources/subscription).
// Best effort: a failure is logged and the nightly run still applies group changes.
import type { Db } from "../../db/client.ts";
import {
  deleteGroupSubscriptionRow,
  findGroupSubscription,
  findRoleSettings,
  saveGroupSubscription,
  saveGroupSubscriptionRenewed,
} from "../../db/groupTracking.ts";
import { findSubscription } from "../../db/realtimeSubscriptions.ts";
import type { Config } from "../../lib/config.ts";
import { GRAPH_BUDGETS, GraphError } from "../graph.ts";
import { withOrganizationGraph } from "../graphAccess.ts";
import { createGraphSubscription, renewGraphSubscription } from "./graphSubscription.ts";
import { ConnectionTokenError } from "../tokens.ts";

const expected = (error: unknown) => error instanceof GraphError || error instanceof ConnectionTokenError;

/** Whether the organization should hold the /groups subscription: mapping on, and real-time updates held. */
async function wanted(db: Db, organizationId: string): Promise<boolean> {
  const [settings, users] = await Promise.all([findRoleSettings(db, organizationId), findSubscription(db, organizationId)]);
  return settings.mapping && !!users?.subscriptionId;
}

/** Creates, renews or deletes the /groups subscription so that it is held exactly while it is wanted. */
export async function keepGroupUpdates(
  db: Db,
  config: Config,
  organizationId: string,
  notificationUrl: string,
  now: number,
  renew = false,
) {
  if (!(await wanted(db, organizationId))) return stopGroupUpdates(db, config, organizationId);
  if (renew) return renewGroupUpdates(db, config, organizationId, notificationUrl, now);
  if (!(await findGroupSubscription(db, organizationId))) return startGroupUpdates(db, config, organizationId, notificationUrl, now);
}

async function startGroupUpdates(db: Db, config: Config, organizationId: string, notificationUrl: string, now: number) {
  await stopGroupUpdates(db, config, organizationId);
  try {
    const { subscriptionId, tenantId, clientStateEnc, expiresAt } = await createGraphSubscription(
      db,
      config,
      organizationId,
      { changeType: "updated", notificationUrl, resource: "/groups" },
      now,
    );
    await saveGroupSubscription(db, { organizationId, tenantId, subscriptionId, clientStateEnc, expiresAt, now }).run();
  } catch (error) {
    if (!expected(error)) throw error;
    console.error("group updates not started", error instanceof GraphError ? error.kind : error.name);
  }
}

async function renewGroupUpdates(db: Db, config: Config, organizationId: string, notificationUrl: string, now: number) {
  const held = await findGroupSubscription(db, organizationId);
  if (!held) return startGroupUpdates(db, config, organizationId, notificationUrl, now);
  try {
    const expiresAt = await renewGraphSubscription(db, config, organizationId, held.subscriptionId, now);
    await saveGroupSubscriptionRenewed(db, organizationId, held.subscriptionId, expiresAt, now).run();
  } catch (error) {
    if (error instanceof GraphError && error.kind === "not_found")
      return startGroupUpdates(db, config, organizationId, notificationUrl, now);
    if (!expected(error)) throw error;
    console.error("group updates not renewed", error instanceof GraphError ? error.kind : error.name);
  }
}

/** Deleted at Graph when it can be (a 404 is already gone), and forgotten here either way. */
export async function stopGroupUpdates(db: Db, config: Config, organizationId: string) {
  const held = await findGroupSubscription(db, organizationId);
  if (!held) return;
  try {
    await withOrganizationGraph(
      db,
      config,
      organizationId,
      (graph) => graph.remove(`/v1.0/subscriptions/${encodeURIComponent(held.subscriptionId)}`),
      GRAPH_BUDGETS.interactive,
    );
  } catch (error) {
    if (!expected(error)) throw error;
  }
  await deleteGroupSubscriptionRow(db, organizationId).run();
}
