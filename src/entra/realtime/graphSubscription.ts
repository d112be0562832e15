// Creating and renewing one Graph subscription, the same for both behind real-time updates (`users`
// in subscription.ts, `/groups` in groupSubscription.ts): each gets a new clientState, sealed for
// the organization's tenant, and asks for the documented maximum lifetime less an hour.
// https://learn.microsoft.com/en-us/graph/api/subscription-post-subscriptions (create: one attempt,
// an admin is waiting) and https://learn.microsoft.com/en-us/graph/api/subscription-update (renew).
import { z } from "zod";
import type { Db } from "../../db/client.ts";
import type { Config } from "../../lib/config.ts";
import { randomToken } from "../../lib/crypto.ts";
import { createTokenVault } from "../../lib/vault.ts";
import { GRAPH_BUDGETS } from "../graph.ts";
import { withOrganizationGraph } from "../graphAccess.ts";
import { vaultContext } from "../tokens.ts";

/**
 * The documented maximum for `users` and for `group` resources alike: 41,760 minutes
 * (https://learn.microsoft.com/en-us/graph/api/resources/subscription, "Subscription lifetime").
 */
export const MAX_LIFETIME_MS = 41_760 * 60_000;
/** We ask for an hour less, so a clock a little ahead of Microsoft's is never refused. */
const REQUESTED_LIFETIME_MS = MAX_LIFETIME_MS - 60 * 60_000;

const subscriptionReply = z.object({ id: z.string().min(1).max(100), expirationDateTime: z.string() });

const CREATE_BUDGET = { maxAttempts: 1, maxWaitMs: GRAPH_BUDGETS.interactive.maxWaitMs };

/** When Graph says the subscription expires; our request's expiry if its answer does not parse. */
const expiryOf = (reply: { expirationDateTime: string }, now: number) =>
  Date.parse(reply.expirationDateTime) || now + REQUESTED_LIFETIME_MS;

/** Creates the subscription at Graph; returns what to store (the clientState only sealed). Throws GraphError or ConnectionTokenError. */
export async function createGraphSubscription(
  db: Db,
  config: Config,
  organizationId: string,
  request: { changeType: string; resource: string; notificationUrl: string; lifecycleNotificationUrl?: string },
  now: number,
) {
  const clientState = randomToken();
  let tenantId = "";
  const created = await withOrganizationGraph(
    db,
    config,
    organizationId,
    (graph, tenant) => {
      tenantId = tenant;
      return graph.post(
        "/v1.0/subscriptions",
        { ...request, expirationDateTime: new Date(now + REQUESTED_LIFETIME_MS).toISOString(), clientState },
        subscriptionReply,
      );
    },
    CREATE_BUDGET,
  );
  const clientStateEnc = await createTokenVault(config.TOKEN_ENCRYPTION_KEYS).seal(
    clientState,
    vaultContext(organizationId, tenantId, "client_state"),
  );
  return { subscriptionId: created.id, tenantId, clientStateEnc, expiresAt: expiryOf(created, now) };
}

/** Extends the subscription to the maximum again; returns its new expiry. A 404 (Graph no longer has it) is the caller's to handle. */
export async function renewGraphSubscription(db: Db, config: Config, organizationId: string, subscriptionId: string, now: number) {
  const renewed = await withOrganizationGraph(
    db,
    config,
    organizationId,
    (graph) =>
      graph.patch(
        `/v1.0/subscriptions/${encodeURIComponent(subscriptionId)}`,
        { expirationDateTime: new Date(now + REQUESTED_LIFETIME_MS).toISOString() },
        subscriptionReply,
      ),
    { lowPriority: true },
  );
  return expiryOf(renewed, now);
}
