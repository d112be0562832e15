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
import { z } from "zod";
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
import { randomToken } from "../../lib/crypto.ts";
import { createTokenVault } from "../../lib/vault.ts";
import { GRAPH_BUDGETS, GraphError } from "../graph.ts";
import { withOrganizationGraph } from "../graphAccess.ts";
import { ConnectionTokenError, vaultContext } from "../tokens.ts";

const GROUPS_MAX_LIFETIME_MS = 41_760 * 60_000;
const REQUESTED_LIFETIME_MS = GROUPS_MAX_LIFETIME_MS - 60 * 60_000;
const subscriptionReply = z.object({ id: z.string().min(1).max(100), expirationDateTime: z.string() });

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
  const clientState = randomToken();
  try {
    let tenantId = "";
    const created = await withOrganizationGraph(
      db,
      config,
      organizationId,
      (graph, tenant) => {
        tenantId = tenant;
        return graph.post(
          "/v1.0/subscriptions",
          {
            changeType: "updated",
            notificationUrl,
            resource: "/groups",
            expirationDateTime: new Date(now + REQUESTED_LIFETIME_MS).toISOString(),
            clientState,
          },
          subscriptionReply,
        );
      },
      { maxAttempts: 1, maxWaitMs: GRAPH_BUDGETS.interactive.maxWaitMs },
    );
    const clientStateEnc = await createTokenVault(config.TOKEN_ENCRYPTION_KEYS).seal(
      clientState,
      vaultContext(organizationId, tenantId, "client_state"),
    );
    const expiresAt = Date.parse(created.expirationDateTime) || now + REQUESTED_LIFETIME_MS;
    await saveGroupSubscription(db, { organizationId, tenantId, subscriptionId: created.id, clientStateEnc, expiresAt, now }).run();
  } catch (error) {
    if (!expected(error)) throw error;
    console.error("group updates not started", error instanceof GraphError ? error.kind : error.name);
  }
}

async function renewGroupUpdates(db: Db, config: Config, organizationId: string, notificationUrl: string, now: number) {
  const held = await findGroupSubscription(db, organizationId);
  if (!held) return startGroupUpdates(db, config, organizationId, notificationUrl, now);
  try {
    const renewed = await withOrganizationGraph(
      db,
      config,
      organizationId,
      (graph) =>
        graph.patch(
          `/v1.0/subscriptions/${encodeURIComponent(held.subscriptionId)}`,
          { expirationDateTime: new Date(now + REQUESTED_LIFETIME_MS).toISOString() },
          subscriptionReply,
        ),
      { lowPriority: true },
    );
    const expiresAt = Date.parse(renewed.expirationDateTime) || now + REQUESTED_LIFETIME_MS;
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
