// Each run refreshes the tenant's verified domains (issue 20): a domain removed in Entra stops
// counting for the sync scope at once, and a new one appears on the Entra page marked new and
// unchosen (src/db/syncScope.ts). One Graph request (/organization, which User.Read suffices for:
// https://learn.microsoft.com/en-us/graph/api/organization-get) and one D1 batch; a failure leaves
// the list as it was and never fails the run (the directory read that follows reports its own).
// It says whether a chosen domain went: a delta round does not list that domain's people again, so
// the run lists everyone instead (workflow.ts) and judges them by the domains left (runScope.ts):
// the same batch reads the chosen domains back for that, so the run reads its scope only once
// (workflow.ts's load step) and takes the refreshed domains from here.
import { and, eq } from "drizzle-orm";
import type { Db } from "../../db/client.ts";
import { saveTenantDetails } from "../../db/connections.ts";
import { syncScopeDomains } from "../../db/schema.ts";
import { runStatements } from "../../db/statements.ts";
import { listChosenDomains, refreshScopeDomains } from "../../db/syncScope.ts";
import type { Config } from "../../lib/config.ts";
import { GraphError } from "../graph.ts";
import { withOrganizationGraph, type TokenCache } from "../graphAccess.ts";
import { fetchTenantDetailsWith } from "../organization.ts";
import { ConnectionTokenError } from "../tokens.ts";

export async function refreshDomainsOfRun(
  db: Db,
  config: Config,
  run: { organizationId: string; tenantId: string },
  tokens: TokenCache,
  now: number,
): Promise<{ refreshed: boolean; chosenRemoved?: boolean; chosen?: string[]; graphRequests: number }> {
  const counter = { requests: 0, bytes: 0 };
  try {
    const details = await withOrganizationGraph(
      db,
      config,
      run.organizationId,
      (graph, tenantId) => (tenantId === run.tenantId ? fetchTenantDetailsWith(graph) : Promise.resolve(null)),
      { counter, tokens, maxAttempts: 2, maxWaitMs: 2_000 },
    );
    if (!details) return { refreshed: false, graphRequests: counter.requests };
    const { domains, ...columns } = details;
    const reported = new Set(domains.map((d) => d.name.toLowerCase()));
    const chosenRemoved = (await listChosenDomains(db, run.organizationId)).some((name) => !reported.has(name));
    const results = await runStatements(db, [
      saveTenantDetails(db, run.organizationId, columns, now),
      ...refreshScopeDomains(db, run.organizationId, domains, false),
      db
        .select({ name: syncScopeDomains.name })
        .from(syncScopeDomains)
        .where(and(eq(syncScopeDomains.organizationId, run.organizationId), eq(syncScopeDomains.chosen, true))),
    ]);
    // No domain reported leaves no list, and the scope falls back to the verified domains: the run keeps the scope it loaded.
    const chosen = domains.length > 0 ? (results.at(-1)?.results ?? []).map((row) => (row as { name: string }).name) : undefined;
    return { refreshed: true, chosenRemoved, ...(chosen ? { chosen } : {}), graphRequests: counter.requests };
  } catch (error) {
    if (error instanceof GraphError || error instanceof ConnectionTokenError) return { refreshed: false, graphRequests: counter.requests };
    throw error;
  }
}
