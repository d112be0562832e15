// One SCIM request in at most two D1 round trips: a read batch that starts with the presented
// token's row and scopes every other read to that token's organization (src/db/scimTokens.ts), and,
// once the token is proved, one write batch with the change, its audit rows and events, the token's
// last use and the request's log row. A refusal (ScimError before the write batch, or a write batch
// that breaks userName's UNIQUE index and rolls back) writes nothing.
import type { SQL } from "drizzle-orm";
import type { Db } from "../../db/client.ts";
import { isUniqueViolation } from "../../db/client.ts";
import { requestLogStatements, tokenOrganization, tokenRow, tokenUsable, type PresentedToken, type TokenRow } from "../../db/scimTokens.ts";
import { runStatements, type Statement } from "../../db/statements.ts";
import { timingSafeEqual } from "../../lib/crypto.ts";
import { planHas, type Plan } from "../../plans.ts";
import { ScimError } from "../../scim/errors.ts";
import { matchesFilter } from "../../scim/filterEvaluate.ts";
import { listResponse, type ListQuery } from "../../scim/list.ts";

export interface ScimRequest {
  db: Db;
  token: PresentedToken;
  now: number;
  /** `${APP_ORIGIN}/scim/v2`: resources' locations. */
  baseUrl: string;
  method: string;
  /** What the log shows: the collection and id, never a query or body. */
  resource: string;
}

export interface ScimReply {
  status: number;
  body?: Record<string, unknown>;
  location?: string;
}

export interface Decision {
  reply: ScimReply;
  writes: Statement[];
  /** A word for the settings page's log on what changed ("created", "deactivated"…); null: nothing. */
  outcome: string | null;
}

/** A filter no index serves, evaluated over every candidate read (CANDIDATE_LIMIT), then cut to the requested page. */
export function filteredPage(candidates: Record<string, unknown>[], query: ListQuery, coreSchema: string) {
  const matching = candidates.filter((resource) => matchesFilter(query.filter!, resource as never, coreSchema));
  return { resources: matching.slice(query.startIndex - 1, query.startIndex - 1 + query.count), total: matching.length };
}

/** A list's 200: the page, each resource with the attributes the query asks for; a read writes nothing. */
export function listReply(query: ListQuery, page: { resources: Record<string, unknown>[]; total: number }): Decision {
  const body = listResponse(
    page.resources.map((resource) => query.projection.apply(resource as never)),
    { totalResults: page.total, startIndex: query.startIndex },
  );
  return { reply: { status: 200, body: body as unknown as Record<string, unknown> }, writes: [], outcome: null };
}

const refused = () => ScimError.status(401, "The bearer token is not valid. Generate a token on UniAsset's SCIM provisioning page.");

export async function scimCall(
  request: ScimRequest,
  reads: (organization: SQL) => Statement[],
  decide: (results: D1Result[], organizationId: string) => Decision,
): Promise<ScimReply> {
  const { db, token, now } = request;
  const [tokenResult, ...results] = await db.$client.batch([tokenRow(db, token), ...reads(tokenOrganization(token, now))]);
  const row = tokenResult!.results[0] as TokenRow | undefined;
  // The row was found by the token's id; the secret part is proved by comparing hashes in constant
  // time. Until then nothing the batch read is looked at.
  if (!row || !timingSafeEqual(row.tokenHash, token.hash) || !tokenUsable(row, now)) throw refused();
  if (!planHas(row.plan as Plan, "scim")) throw ScimError.status(403, "SCIM provisioning is available on the Enterprise plan.");
  const decision = decide(results, row.organizationId);
  const log = requestLogStatements(db, {
    organizationId: row.organizationId,
    tokenId: row.id,
    now,
    method: request.method,
    resource: request.resource,
    status: decision.reply.status,
    outcome: decision.outcome,
  });
  try {
    await runStatements(db, [...decision.writes, ...log]);
  } catch (error) {
    if (isUniqueViolation(error, "scim_users"))
      throw ScimError.uniqueness("A User with this userName already exists in this organization.");
    throw error;
  }
  return decision.reply;
}
