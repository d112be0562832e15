// Authorization-code flows with PKCE, state and nonce against Microsoft (multi-tenant) and Google,
// through oauth4webapi. The ID token is validated — issuer bound to its own tenant for Microsoft,
// audience, expiry, nonce, and RS256 signature against the provider's published keys — before
// anything in it is trusted.
import * as oauth from "oauth4webapi";
import { isLoopbackUrl, type Config } from "../lib/config.ts";

export type OAuthProvider = "microsoft" | "google";

/** Why an OAuth round trip failed; callers turn this into the right page or connection status. */
export type OAuthFailureKind =
  | "cancelled" // the person (or Microsoft on their behalf) declined: `error=access_denied`
  | "consent_required" // `error=consent_required`: a non-admin asked for admin-only permissions
  | "provider_error" // any other `error` returned to the redirect URI
  | "state_mismatch" // missing or wrong state: not our round trip
  | "code_rejected" // the token endpoint refused the code (replayed, expired, PKCE mismatch)
  | "grant_rejected" // `invalid_grant` for a refresh token: revoked, expired or already rotated
  | "invalid_id_token" // aud, iss/tid, exp, nonce or signature wrong
  | "provider_unavailable"; // network failure, timeout or 5xx from the provider

export class OAuthFlowError extends Error {
  readonly kind: OAuthFailureKind;
  /** The provider's `error` code, when it sent one (never a token). */
  readonly providerError?: string;
  /** The provider's description (e.g. "AADSTS65004: …"): only enriches the text we show. */
  readonly providerDescription?: string;

  constructor(kind: OAuthFailureKind, detail: { providerError?: string; providerDescription?: string; cause?: unknown } = {}) {
    super(`oauth flow failed: ${kind}${detail.providerError ? ` (${detail.providerError})` : ""}`, { cause: detail.cause });
    this.name = "OAuthFlowError";
    this.kind = kind;
    this.providerError = detail.providerError;
    this.providerDescription = detail.providerDescription;
  }
}

/** Delegated, read-only Graph permissions asked for when an admin connects Entra ID. */
export const ENTRA_CONNECT_SCOPE = "openid profile email offline_access User.Read.All Group.Read.All";
const SIGN_IN_SCOPE = "openid profile email";
const PROVIDER_TIMEOUT_MS = 10_000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ProviderSetup {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
  insecure: boolean;
}

// Per-isolate JWKS caches, keyed by jwks_uri, so most callbacks validate without fetching keys.
const jwksCaches = new Map<string, oauth.JWKSCacheInput>();

function microsoftSetup(config: Config, issuerTenant: string): ProviderSetup {
  const host = config.MS_AUTHORITY_HOST;
  return {
    as: {
      issuer: `${host}/${issuerTenant}/v2.0`,
      authorization_endpoint: `${host}/organizations/oauth2/v2.0/authorize`,
      token_endpoint: `${host}/organizations/oauth2/v2.0/token`,
      jwks_uri: `${host}/common/discovery/v2.0/keys`,
      id_token_signing_alg_values_supported: ["RS256"],
    },
    client: { client_id: config.MS_CLIENT_ID, id_token_signed_response_alg: "RS256" },
    clientAuth: oauth.ClientSecretPost(config.MS_CLIENT_SECRET),
    insecure: isLoopbackUrl(host),
  };
}

function googleSetup(config: Config): ProviderSetup {
  return {
    as: {
      issuer: config.GOOGLE_ISSUER,
      authorization_endpoint: config.GOOGLE_AUTHORIZATION_ENDPOINT,
      token_endpoint: config.GOOGLE_TOKEN_ENDPOINT,
      jwks_uri: config.GOOGLE_JWKS_URI,
      id_token_signing_alg_values_supported: ["RS256"],
    },
    client: { client_id: config.GOOGLE_CLIENT_ID, id_token_signed_response_alg: "RS256" },
    clientAuth: oauth.ClientSecretPost(config.GOOGLE_CLIENT_SECRET),
    insecure: isLoopbackUrl(config.GOOGLE_TOKEN_ENDPOINT),
  };
}

function setupFor(provider: OAuthProvider, config: Config, issuerTenant = "organizations"): ProviderSetup {
  return provider === "microsoft" ? microsoftSetup(config, issuerTenant) : googleSetup(config);
}

export interface AuthorizationRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

export async function buildAuthorizationRequest(
  provider: OAuthProvider,
  config: Config,
  options: { redirectUri: string; scope?: string; prompt?: string },
): Promise<AuthorizationRequest> {
  const { as, client } = setupFor(provider, config);
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: client.client_id,
    response_type: "code",
    response_mode: "query",
    redirect_uri: options.redirectUri,
    scope: options.scope ?? SIGN_IN_SCOPE,
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    ...(options.prompt ? { prompt: options.prompt } : {}),
  }).toString();
  return { url, state, nonce, codeVerifier };
}

export interface CompletedAuthorization {
  claims: oauth.IDToken;
  tokens: oauth.TokenEndpointResponse;
}

/** Validates the callback, redeems the code and validates the ID token. Throws OAuthFlowError. */
export async function completeAuthorization(
  provider: OAuthProvider,
  config: Config,
  callbackUrl: URL,
  expected: { state: string; nonce: string; codeVerifier: string; redirectUri: string },
): Promise<CompletedAuthorization> {
  const base = setupFor(provider, config);
  const http = {
    [oauth.allowInsecureRequests]: base.insecure,
    signal: () => AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
  };

  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(base.as, base.client, callbackUrl, expected.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      const kind = error.error === "access_denied" ? "cancelled" : error.error === "consent_required" ? "consent_required" : "provider_error";
      throw new OAuthFlowError(kind, { providerError: error.error, providerDescription: error.error_description, cause: error });
    }
    throw new OAuthFlowError("state_mismatch", { cause: error });
  }

  let response: Response;
  try {
    response = await oauth.authorizationCodeGrantRequest(
      base.as, base.client, base.clientAuth, params, expected.redirectUri, expected.codeVerifier, http,
    );
  } catch (error) {
    throw new OAuthFlowError("provider_unavailable", { cause: error });
  }
  if (response.status >= 500) {
    await response.body?.cancel();
    throw new OAuthFlowError("provider_unavailable", { providerError: `http_${response.status}` });
  }

  // A multi-tenant Microsoft ID token is issued by its own tenant: read `tid` first (untrusted),
  // then require `iss` to be exactly that tenant's issuer, so the signature check binds the tenant.
  const setup = provider === "microsoft" ? microsoftSetup(config, await peekTenantId(response)) : base;
  try {
    const tokens = await oauth.processAuthorizationCodeResponse(setup.as, setup.client, response, {
      expectedNonce: expected.nonce,
      requireIdToken: true,
    });
    const jwksUri = setup.as.jwks_uri!;
    const cache = jwksCaches.get(jwksUri) ?? {};
    jwksCaches.set(jwksUri, cache);
    await oauth.validateApplicationLevelSignature(setup.as, response, { ...http, [oauth.jwksCache]: cache });
    const claims = oauth.getValidatedIdTokenClaims(tokens);
    if (!claims) throw new OAuthFlowError("invalid_id_token");
    if (provider === "microsoft" && (claims.tid !== setup.as.issuer.split("/").at(-2) || typeof claims.oid !== "string")) {
      throw new OAuthFlowError("invalid_id_token");
    }
    return { claims, tokens };
  } catch (error) {
    if (error instanceof OAuthFlowError) throw error;
    if (error instanceof oauth.ResponseBodyError) {
      throw new OAuthFlowError("code_rejected", { providerError: error.error, providerDescription: error.error_description, cause: error });
    }
    if (error instanceof TypeError || (error instanceof DOMException && error.name === "TimeoutError")) {
      throw new OAuthFlowError("provider_unavailable", { cause: error });
    }
    throw new OAuthFlowError("invalid_id_token", { cause: error });
  }
}

/** Redeems a refresh token (Entra connections). Throws OAuthFlowError. */
export async function redeemRefreshToken(config: Config, refreshToken: string): Promise<oauth.TokenEndpointResponse> {
  const setup = microsoftSetup(config, "organizations");
  const http = { [oauth.allowInsecureRequests]: setup.insecure, signal: () => AbortSignal.timeout(PROVIDER_TIMEOUT_MS) };
  let response: Response;
  try {
    response = await oauth.refreshTokenGrantRequest(setup.as, setup.client, setup.clientAuth, refreshToken, http);
  } catch (error) {
    throw new OAuthFlowError("provider_unavailable", { cause: error });
  }
  if (response.status >= 500) {
    await response.body?.cancel();
    throw new OAuthFlowError("provider_unavailable", { providerError: `http_${response.status}` });
  }
  try {
    // Refreshed ID tokens (if any) come from the user's tenant; this grant only needs the tokens.
    const body = (await response.clone().json().catch(() => null)) as { id_token?: unknown } | null;
    if (body && "id_token" in body) {
      const tenant = await peekTenantId(response);
      return await oauth.processRefreshTokenResponse(microsoftSetup(config, tenant).as, setup.client, response);
    }
    return await oauth.processRefreshTokenResponse(setup.as, setup.client, response);
  } catch (error) {
    if (error instanceof OAuthFlowError) throw error;
    if (error instanceof oauth.ResponseBodyError) {
      // Only a dead grant means "reconnect": invalid_client (our secret expired) and the like are
      // our or Microsoft's problem, and must not throw every customer's tokens away.
      const grantGone = error.error === "invalid_grant" || error.error === "interaction_required";
      throw new OAuthFlowError(grantGone ? "grant_rejected" : "provider_error", {
        providerError: error.error,
        providerDescription: error.error_description,
        cause: error,
      });
    }
    throw new OAuthFlowError("provider_error", { cause: error });
  }
}

async function peekTenantId(response: Response): Promise<string> {
  const body = (await response.clone().json().catch(() => null)) as { id_token?: unknown } | null;
  const idToken = typeof body?.id_token === "string" ? body.id_token : "";
  const payload = idToken.split(".")[1];
  let tid: unknown;
  try {
    tid = payload ? (JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))) as { tid?: unknown }).tid : undefined;
  } catch {
    tid = undefined;
  }
  // Not a GUID: use a value no real issuer matches, so validation fails on `iss` below.
  return typeof tid === "string" && GUID.test(tid) ? tid : "invalid-tenant";
}
