// Running Graph reads with an organization's delegated token: the one path for it. A 401 on a
// cached token gets one forced refresh and a retry, so an access token revoked early doesn't fail
// the operation; a refused refresh is final.
import type { Db } from "../db/client.ts";
import type { Config } from "../lib/config.ts";
import { GraphError, createGraphClient, type GraphBudget, type GraphClient } from "./graph.ts";
import { graphAccessToken } from "./tokens.ts";

/** An access token kept between calls of one long job (memory only; gone after a restart). */
export interface TokenCache {
  accessToken: string | null;
  tenantId: string | null;
}

interface GraphAccessOptions extends Partial<GraphBudget> {
  lowPriority?: boolean;
  counter?: { requests: number; bytes?: number };
  /** Reuse (and keep) the token between calls instead of reading the stored one each time. */
  tokens?: TokenCache;
}

export async function withOrganizationGraph<T>(
  db: Db,
  config: Config,
  organizationId: string,
  work: (graph: GraphClient, tenantId: string) => Promise<T>,
  options: GraphAccessOptions = {},
): Promise<T> {
  const { tokens, ...clientOptions } = options;
  const client = (accessToken: string) => createGraphClient(config, { accessToken, ...clientOptions });
  const issue = async (forceRefresh: boolean) => {
    if (!forceRefresh && tokens?.accessToken && tokens.tenantId) return { accessToken: tokens.accessToken, tenantId: tokens.tenantId };
    const issued = await graphAccessToken(db, config, organizationId, forceRefresh ? { forceRefresh } : {});
    if (tokens) Object.assign(tokens, issued);
    return issued;
  };
  const first = await issue(false);
  try {
    return await work(client(first.accessToken), first.tenantId);
  } catch (error) {
    if (!(error instanceof GraphError) || error.kind !== "unauthorized") throw error;
    const refreshed = await issue(true);
    return work(client(refreshed.accessToken), refreshed.tenantId);
  }
}
