// SCIM bearer tokens and the request log (migrations/0020). Only a token's SHA-256 is stored. A
// request's reads are scoped to the organization of the token it presents by `tokenOrganization`,
// in the same D1 batch as the token row itself, so authenticating costs no round trip of its own
// (src/people/scim/call.ts checks the hash again in constant time before using anything read).
import { sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { auditStatement } from "./audit.ts";
import { membersAsUsers } from "./scimUsers.ts";
import { statement, type Statement } from "./statements.ts";

/** How long the settings page's request log keeps a request. */
export const KEPT_REQUESTS_MS = 7 * 24 * 60 * 60 * 1000;

export interface PresentedToken {
  id: string;
  hash: string;
}

export interface TokenRow {
  id: string;
  organizationId: string;
  tokenHash: string;
  graceExpiresAt: number | null;
  revokedAt: number | null;
  plan: string;
}

/** The presented token's row and its organization's plan, found by the token's id. */
export function tokenRow(db: Db, token: PresentedToken): Statement {
  return statement(
    db,
    sql`select t.id as id, t.organization_id as organizationId, t.token_hash as tokenHash,
      t.grace_expires_at as graceExpiresAt, t.revoked_at as revokedAt, o.plan as plan
    from scim_tokens t join organizations o on o.id = t.organization_id where t.id = ${token.id}`,
  );
}

/** Whether a row still admits requests at `now`: not revoked, and not past a rotation's grace. */
export function tokenUsable(row: Pick<TokenRow, "graceExpiresAt" | "revokedAt">, now: number): boolean {
  return row.revokedAt === null && (row.graceExpiresAt === null || row.graceExpiresAt > now);
}

/**
 * The organization of the presented token as a subquery: null (so nothing matches) unless the hash
 * matches and the token is usable. Every read of a SCIM request is scoped by it.
 */
export function tokenOrganization(token: PresentedToken, now: number): SQL {
  return sql`(select organization_id from scim_tokens where id = ${token.id} and token_hash = ${token.hash}
    and revoked_at is null and (grace_expires_at is null or grace_expires_at > ${now}))`;
}

/**
 * What every answered request adds to its write batch: the token's last use, one log row, and the
 * log's rows older than KEPT_REQUESTS_MS (a range of scim_requests_org that holds only the rows it
 * deletes, so the log costs a request no reads).
 */
export function requestLogStatements(
  db: Db,
  entry: { organizationId: string; tokenId: string; now: number; method: string; resource: string; status: number; outcome: string | null },
): Statement[] {
  const { organizationId, tokenId, now } = entry;
  return [
    statement(db, sql`update scim_tokens set last_used_at = ${now} where id = ${tokenId}`),
    statement(
      db,
      sql`insert into scim_requests (organization_id, token_id, at, method, resource, status, outcome)
      values (${organizationId}, ${tokenId}, ${now}, ${entry.method}, ${entry.resource.slice(0, 200)}, ${entry.status}, ${entry.outcome})`,
    ),
    statement(db, sql`delete from scim_requests where organization_id = ${organizationId} and at < ${now - KEPT_REQUESTS_MS}`),
  ];
}

/** The settings page: the organization's tokens (newest first) and its last requests. */
export async function loadScimSettings(db: Db, organizationId: string, limit = 20) {
  const [tokens, requests, entra] = await db.$client.batch([
    statement(
      db,
      sql`select id, created_at as createdAt, last_used_at as lastUsedAt, grace_expires_at as graceExpiresAt,
        revoked_at as revokedAt from scim_tokens where organization_id = ${organizationId} order by created_at desc limit 20`,
    ),
    statement(
      db,
      sql`select id, at, method, resource, status, outcome from scim_requests
      where organization_id = ${organizationId} order by at desc, id desc limit ${limit}`,
    ),
    statement(db, sql`select status from entra_connections where organization_id = ${organizationId}`),
  ]);
  return {
    tokens: tokens!.results as {
      id: string;
      createdAt: number;
      lastUsedAt: number | null;
      graceExpiresAt: number | null;
      revokedAt: number | null;
    }[],
    requests: requests!.results as { id: number; at: number; method: string; resource: string; status: number; outcome: string | null }[],
    entraStatus: (entra!.results[0] as { status: string } | undefined)?.status ?? null,
  };
}

/** SQL: the organization has no SCIM token that works at `now` (a premise of Connect Entra ID's write batch). */
export function noUsableScimToken(organizationId: string, now: number): SQL {
  return sql`not exists (select 1 from scim_tokens where organization_id = ${organizationId} and revoked_at is null
    and (grace_expires_at is null or grace_expires_at > ${now}))`;
}

/** Whether the organization's directory is SCIM now (Connect Entra ID and the setup link are refused then). */
export async function hasUsableToken(db: Db, organizationId: string, now: number): Promise<boolean> {
  const row = await db.$client
    .prepare(`select 1 from scim_tokens where organization_id = ? and revoked_at is null
    and (grace_expires_at is null or grace_expires_at > ?) limit 1`)
    .bind(organizationId, now)
    .first();
  return row !== null;
}

/**
 * A new token. Written only while no Entra connection exists (the organization's directory is one
 * or the other), and then any token still without a grace expiry gets one (Rotate): `graceMs`.
 * Returns whether it was written.
 */
export async function insertToken(
  db: Db,
  token: { id: string; hash: string; organizationId: string; createdBy: string; now: number; graceMs: number; rotate: boolean },
): Promise<boolean> {
  const { id, hash, organizationId, createdBy, now } = token;
  const noEntra = sql`not exists (select 1 from entra_connections where organization_id = ${organizationId})`;
  const results = await db.$client.batch([
    // Rotate: the tokens in use get their grace period, and a rotated one keeps the earlier expiry.
    statement(
      db,
      sql`update scim_tokens set grace_expires_at = ${now + token.graceMs}
      where organization_id = ${organizationId} and revoked_at is null and grace_expires_at is null and ${token.rotate ? sql`1` : sql`0`} and ${noEntra}`,
    ),
    auditStatement(
      db,
      {
        organizationId,
        actorUserId: createdBy,
        action: token.rotate ? "scim.token_rotated" : "scim.token_created",
        details: sql`'{}'`,
        now,
      },
      sql`where ${noEntra}`,
    ),
    statement(
      db,
      sql`insert into scim_tokens (id, organization_id, token_hash, created_by, created_at)
      select ${id}, ${organizationId}, ${hash}, ${createdBy}, ${now} where ${noEntra} returning id`,
    ),
    // The people already in the organization become its SCIM Users (migrations/0021 says why).
    membersAsUsers(db, organizationId, now, noEntra),
  ]);
  return (results[2]?.results.length ?? 0) > 0;
}

/** Revokes one token of the organization at once (no grace). Returns whether it was in use. */
export async function revokeToken(db: Db, organizationId: string, tokenId: string, actorUserId: string, now: number): Promise<boolean> {
  const guard = sql`id = ${tokenId} and organization_id = ${organizationId} and revoked_at is null`;
  const results = await db.$client.batch([
    statement(
      db,
      sql`insert into audit_events (organization_id, actor_user_id, action, target_user_id, details, created_at)
      select ${organizationId}, ${actorUserId}, 'scim.token_revoked', null, '{}', ${now} from scim_tokens where ${guard}`,
    ),
    statement(db, sql`update scim_tokens set revoked_at = ${now} where ${guard} returning id`),
  ]);
  return (results[1]?.results.length ?? 0) > 0;
}
