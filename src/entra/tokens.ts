// Delegated Graph tokens of an organization's Entra connection. The access token is cached
// encrypted with its expiry and refreshed only when due; a rotated refresh token is stored in the
// same write as the new access token. A grant that is gone sets "needs reconnect".
import { OAuthFlowError, redeemRefreshToken } from "../auth/oauth.ts";
import type { Db } from "../db/client.ts";
import { findConnectionTokens, saveNeedsReconnect, saveRefreshedTokens, type ConnectionTokens } from "../db/connections.ts";
import { runStatements, type Write } from "../db/statements.ts";
import type { Config } from "../lib/config.ts";
import { createTokenVault, type VaultContext, type VaultField } from "../lib/vault.ts";

/** Refresh this long before expiry, so a token never expires in the middle of a Graph call. */
const EXPIRY_MARGIN_MS = 5 * 60 * 1000;

type TokenFailureKind = "not_connected" | "needs_reconnect" | "unreadable" | "provider_unavailable";

export class ConnectionTokenError extends Error {
  readonly kind: TokenFailureKind;
  /** accessTokenFromRow only: the write that records the failure (needs reconnect), not yet run. */
  readonly writes: Write[];
  constructor(kind: TokenFailureKind, options?: { cause?: unknown; writes?: Write[] }) {
    super(`entra connection token unavailable: ${kind}`, options);
    this.name = "ConnectionTokenError";
    this.kind = kind;
    this.writes = options?.writes ?? [];
  }
}

interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  expiresInSeconds: number;
}

export function vaultContext(organizationId: string, tenantId: string, field: VaultField): VaultContext {
  return { organizationId, tenantId, field };
}

/** Seals a fresh token pair for storage. */
export async function sealTokens(config: Config, organizationId: string, tenantId: string, tokens: IssuedTokens, now: number) {
  const vault = createTokenVault(config.TOKEN_ENCRYPTION_KEYS);
  return {
    accessTokenEnc: await vault.seal(tokens.accessToken, vaultContext(organizationId, tenantId, "access_token")),
    refreshTokenEnc: await vault.seal(tokens.refreshToken, vaultContext(organizationId, tenantId, "refresh_token")),
    accessTokenExpiresAt: now + tokens.expiresInSeconds * 1000,
  };
}

/**
 * A valid access token for the organization's tenant: the cached one when it is not due, else
 * a refreshed one. `forceRefresh` after Graph answered 401 to the cached token.
 */
export async function graphAccessToken(
  db: Db,
  config: Config,
  organizationId: string,
  options: { forceRefresh?: boolean; now?: number; concurrentRetry?: boolean } = {},
): Promise<{ accessToken: string; tenantId: string }> {
  const now = options.now ?? Date.now();
  const row = await findConnectionTokens(db, organizationId);
  let result;
  try {
    result = await accessTokenFromRow(db, config, organizationId, row, { forceRefresh: options.forceRefresh, now });
  } catch (error) {
    if (error instanceof ConnectionTokenError && error.writes.length > 0) {
      // Another request may have rotated the refresh token a moment ago: use its result if so.
      const latest = await findConnectionTokens(db, organizationId);
      if (
        !options.concurrentRetry &&
        latest?.refreshTokenEnc &&
        latest.refreshTokenEnc !== row?.refreshTokenEnc &&
        latest.status === "connected"
      ) {
        return graphAccessToken(db, config, organizationId, { now, concurrentRetry: true });
      }
      // Only if the refresh token we used is still the stored one: never wipe a fresher pair.
      await runStatements(db, error.writes);
    }
    throw error;
  }
  if (result.writes.length > 0) {
    const [stored] = await runStatements(db, result.writes);
    // A concurrent refresh stored its tokens first; ours are still valid for this call.
    if (!stored?.results.length && !options.concurrentRetry)
      return graphAccessToken(db, config, organizationId, { now, concurrentRetry: true });
  }
  return { accessToken: result.accessToken, tenantId: result.tenantId };
}

/**
 * graphAccessToken for a caller that has already read the connection's token row (sign-in reads
 * it in its one read batch) and writes once at the end: the writes a refresh needs are returned,
 * not run, for the caller's batch. Both are conditional on the refresh token we used still being
 * the stored one, so a concurrent refresh's fresher pair is never overwritten; unlike
 * graphAccessToken, a refused refresh is not re-checked against a concurrent rotation (that would
 * be another read): in that rare race this one sign-in treats the grant as gone.
 */
export async function accessTokenFromRow(
  db: Db,
  config: Config,
  organizationId: string,
  row: ConnectionTokens | undefined,
  options: { forceRefresh?: boolean; now: number },
): Promise<{ accessToken: string; tenantId: string; writes: Write[] }> {
  if (!row || !row.tenantId) throw new ConnectionTokenError("not_connected");
  if (row.status !== "connected" || !row.refreshTokenEnc) throw new ConnectionTokenError("needs_reconnect");
  const { tenantId, refreshTokenEnc } = row;
  const vault = createTokenVault(config.TOKEN_ENCRYPTION_KEYS);
  if (!options.forceRefresh && row.accessTokenEnc && (row.accessTokenExpiresAt ?? 0) - EXPIRY_MARGIN_MS > options.now) {
    const cached = await vault.open(row.accessTokenEnc, vaultContext(organizationId, tenantId, "access_token"));
    if (cached.ok) return { accessToken: cached.value, tenantId, writes: [] };
  }
  const refresh = await vault.open(refreshTokenEnc, vaultContext(organizationId, tenantId, "refresh_token"));
  if (!refresh.ok) throw new ConnectionTokenError("unreadable");
  let issued;
  try {
    issued = await redeemRefreshToken(config, tenantId, refresh.value);
  } catch (error) {
    if (error instanceof OAuthFlowError && error.kind === "grant_rejected") {
      const writes = saveNeedsReconnect(db, organizationId, "grant_revoked", options.now, refreshTokenEnc);
      throw new ConnectionTokenError("needs_reconnect", { cause: error, writes });
    }
    throw new ConnectionTokenError("provider_unavailable", { cause: error });
  }
  const sealed = await sealRefreshed(config, organizationId, tenantId, issued, refresh.value, options.now);
  const writes = [saveRefreshedTokens(db, organizationId, { previousRefreshTokenEnc: refreshTokenEnc, ...sealed, now: options.now })];
  return { accessToken: issued.access_token, tenantId, writes };
}

/** Seals what a refresh returned; Entra rotates refresh tokens, so the old one stays only if none came back. */
function sealRefreshed(
  config: Config,
  organizationId: string,
  tenantId: string,
  issued: { access_token: string; refresh_token?: string; expires_in?: number },
  previousRefreshToken: string,
  now: number,
) {
  return sealTokens(
    config,
    organizationId,
    tenantId,
    {
      accessToken: issued.access_token,
      refreshToken: issued.refresh_token ?? previousRefreshToken,
      expiresInSeconds: typeof issued.expires_in === "number" ? issued.expires_in : 3600,
    },
    now,
  );
}
