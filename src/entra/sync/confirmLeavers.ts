// Before a delta round deactivates anybody, each leaver's current state is read directly. A delta
// round may list the same user more than once and promises no order
// (https://learn.microsoft.com/graph/delta-query-overview), so "disabled" on some page is not
// proof; GET /users/{id} is. The reads go 20 to a JSON batch, Graph's limit
// (https://learn.microsoft.com/graph/json-batching): 404 means deleted, accountEnabled false
// disabled, anything else enabled (not deactivated). A reply that is neither fails the run:
// nothing is changed on partial information. The sign-in name comes too: whether the member is in
// the sync scope's domains is confirmed the same way (runScope.ts).
import { z } from "zod";
import type { Db } from "../../db/client.ts";
import type { Config } from "../../lib/config.ts";
import { GRAPH_BUDGETS, GraphError } from "../graph.ts";
import { withOrganizationGraph, type TokenCache } from "../graphAccess.ts";
import { chunks } from "./applyDirectoryChanges.ts";
import { syncFailureOf, type SyncFailure } from "./failures.ts";

const BATCH_LIMIT = 20;

const batchReply = z.object({
  responses: z.array(
    z.object({
      id: z.string(),
      status: z.number().int(),
      body: z
        .object({ id: z.string().optional(), accountEnabled: z.boolean().nullish(), userPrincipalName: z.string().max(1024).nullish() })
        .passthrough()
        .nullish(),
    }),
  ),
});

type ConfirmedState = "enabled" | "disabled" | "deleted";

type ConfirmResult =
  | { ok: true; confirmed: [oid: string, ConfirmedState, upn: string | null][]; graphRequests: number; graphBytes: number }
  | { ok: false; reason: SyncFailure; graphRequests: number; graphBytes: number };

export async function confirmLeavers(
  db: Db,
  config: Config,
  request: { organizationId: string; tenantId: string; oids: string[] },
  tokens: TokenCache,
): Promise<ConfirmResult> {
  const counter = { requests: 0, bytes: 0 };
  const confirmed: [string, ConfirmedState, string | null][] = [];
  try {
    for (const batch of chunks(request.oids, BATCH_LIMIT)) {
      const reply = await withOrganizationGraph(
        db,
        config,
        request.organizationId,
        (graph, tenantId) => {
          if (tenantId !== request.tenantId) throw new TenantChanged();
          return graph.post(
            "/v1.0/$batch",
            {
              requests: batch.map((oid, i) => ({
                id: String(i),
                method: "GET",
                url: `/users/${encodeURIComponent(oid)}?$select=id,accountEnabled,userPrincipalName`,
              })),
            },
            batchReply,
          );
        },
        { ...GRAPH_BUDGETS.background, lowPriority: true, counter, tokens },
      );
      const byId = new Map(reply.responses.map((r) => [r.id, r]));
      batch.forEach((oid, i) => {
        const answer = byId.get(String(i));
        if (!answer) throw new GraphError("bad_response", { graphCode: "batch_response_missing" });
        if (answer.status === 404) confirmed.push([oid, "deleted", null]);
        else if (answer.status === 200)
          confirmed.push([oid, answer.body?.accountEnabled === false ? "disabled" : "enabled", answer.body?.userPrincipalName ?? null]);
        else if (answer.status === 429 || answer.status === 503) throw new GraphError("throttled", { status: answer.status });
        else throw new GraphError(answer.status >= 500 ? "unavailable" : "bad_response", { status: answer.status });
      });
    }
    return { ok: true, confirmed, graphRequests: counter.requests, graphBytes: counter.bytes };
  } catch (error) {
    if (error instanceof TenantChanged)
      return { ok: false, reason: "tenant_changed", graphRequests: counter.requests, graphBytes: counter.bytes };
    const reason = syncFailureOf(error);
    if (!reason) throw error;
    return {
      ok: false,
      reason: reason === "sync_state_gone" ? "bad_response" : reason,
      graphRequests: counter.requests,
      graphBytes: counter.bytes,
    };
  }
}

class TenantChanged extends Error {}
