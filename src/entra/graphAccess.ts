// Running Graph reads with an organization's delegated token: a 401 on a cached token gets one
// forced refresh and a retry, so an access token revoked early doesn't fail the operation.
import type { Db } from "../db/client.ts";
import type { Config } from "../lib/config.ts";
import { GraphError, createGraphClient, type GraphClient } from "./graph.ts";
import { graphAccessToken } from "./tokens.ts";

export interface GraphAccessOptions {
  lowPriority?: boolean;
  counter?: { requests: number };
  maxAttempts?: number;
  maxWaitMs?: number;
}

export async function withOrganizationGraph<T>(
  db: Db,
  config: Config,
  organizationId: string,
  work: (graph: GraphClient, tenantId: string) => Promise<T>,
  options: GraphAccessOptions = {},
): Promise<T> {
  const client = (accessToken: string) => createGraphClient({ baseUrl: config.GRAPH_BASE_URL, accessToken, ...options });
  const first = await graphAccessToken(db, config, organizationId);
  try {
    return await work(client(first.accessToken), first.tenantId);
  } catch (error) {
    if (!(error instanceof GraphError) || error.kind !== "unauthorized") throw error;
    const refreshed = await graphAccessToken(db, config, organizationId, { forceRefresh: true });
    return work(client(refreshed.accessToken), refreshed.tenantId);
  }
}
