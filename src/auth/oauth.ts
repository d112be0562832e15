// Authorization-code flows with PKCE, state and nonce against Microsoft (multi-tenant) and Google,
// through oauth4webapi. The ID token is validated — issuer bound to its own tenant for Microsoft,
// audience, expiry, nonce, and RS256 signature against the provider's published keys — before
// anything in it is trusted.
import * as oauth from "oauth4webapi";
import { z } from "zod";
import { isLoopbackUrl, type Config } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";

export type OAuthProvider = "microsoft" | "google";

/** Why an OAuth round trip failed; callers turn this into the right page or connection status. */
type OAuthFailureKind =
  | "cancelled" // `error=access_denied`: declined, cancelled, or a non-admin left Microsoft's "Need admin approval" page
  | "authorization_error" // any other `error` at the redirect URI; `providerError` says which
  | "malformed_callback" // no `code`, or one that cannot be a code: the caller's fault, not Microsoft's
  | "state_mismatch" // missing or wrong state: not our round trip
  | "code_rejected" // the token endpoint refused the code (replayed, expired, PKCE mismatch)
  | "grant_rejected" // `invalid_grant` for a refresh token: revoked, expired or already rotated
  | "invalid_id_token" // aud, iss/tid, exp, nonce or signature wrong
  | "unknown_tenant" // the named tenant (domain or id) does not exist at this authority
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

/**
 * Delegated, read-only Graph permissions asked for when an admin connects Entra ID. Short names
 * mean Microsoft Graph of the authority's cloud ("If the resource identifier is omitted in the
 * scope parameter, the resource is assumed to be Microsoft Graph":
 * https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc#scopes-and-permissions).
 */
const ENTRA_GRAPH_SCOPES = "User.Read.All Group.Read.All";
export const ENTRA_CONNECT_SCOPE = `openid profile email offline_access ${ENTRA_GRAPH_SCOPES}`;
const SIGN_IN_SCOPE = "openid profile email";
const PROVIDER_TIMEOUT_MS = 10_000;
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An authorization code as it may appear in a callback: Microsoft's are long base64url-ish strings. */
const CODE = /^[A-Za-z0-9._~+/=-]{1,8192}$/;

interface ProviderSetup {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
  insecure: boolean;
}

// Per-isolate JWKS caches, keyed by jwks_uri, so most callbacks validate without fetching keys.
const jwksCaches = new Map<string, oauth.JWKSCacheInput>();

// Microsoft's endpoints and issuer come from the authority's OpenID discovery document, never from
// strings built on MS_AUTHORITY_HOST: each national cloud publishes its own
// (https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri,
// https://learn.microsoft.com/en-us/entra/identity-platform/authentication-national-cloud).
// The `organizations` document's issuer is a template with `{tenantid}`; a tenant's own document
// (by GUID or verified domain) names that tenant's GUID in its issuer.
const discoverySchema = z.object({
  issuer: z.string().url().max(512),
  authorization_endpoint: z.string().url().max(512),
  token_endpoint: z.string().url().max(512),
  jwks_uri: z.string().url().max(512),
});
type MicrosoftMetadata = z.infer<typeof discoverySchema>;
const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const DISCOVERY_CACHE_ENTRIES = 500;
const discoveryCache = new Map<string, { metadata: MicrosoftMetadata; expiresAt: number }>();

/** The authority's discovery document, cached per isolate for an hour. Throws OAuthFlowError. */
async function microsoftMetadata(config: Config, tenant: string): Promise<MicrosoftMetadata> {
  const url = `${config.MS_AUTHORITY_HOST}/${encodeURIComponent(tenant)}/v2.0/.well-known/openid-configuration`;
  const cached = discoveryCache.get(url);
  if (cached && cached.expiresAt > Date.now()) return cached.metadata;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS), headers: { accept: "application/json" } });
  } catch (error) {
    throw new OAuthFlowError("provider_unavailable", { cause: error });
  }
  // Microsoft answers 400 invalid_tenant (AADSTS90002) for a tenant name or id it doesn't know.
  if (response.status === 400 || response.status === 404) {
    await response.body?.cancel();
    throw new OAuthFlowError("unknown_tenant", { providerError: `http_${response.status}` });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new OAuthFlowError("provider_unavailable", { providerError: `http_${response.status}` });
  }
  const parsed = discoverySchema.safeParse(await response.json().catch(() => null));
  if (!parsed.success) throw new OAuthFlowError("provider_unavailable", { providerError: "bad_discovery_document" });
  // Bounded: admins can name any tenant, so the cache must not grow with what they type.
  if (discoveryCache.size >= DISCOVERY_CACHE_ENTRIES) discoveryCache.delete(discoveryCache.keys().next().value!);
  discoveryCache.set(url, { metadata: parsed.data, expiresAt: Date.now() + DISCOVERY_TTL_MS });
  return parsed.data;
}

/**
 * A tenant named by an admin (verified domain or tenant id) resolved to its tenant id through its
 * own discovery document. Throws OAuthFlowError "unknown_tenant" when Microsoft doesn't know it.
 */
export async function resolveMicrosoftTenant(config: Config, tenant: string): Promise<string> {
  const metadata = await microsoftMetadata(config, tenant);
  const id = new URL(metadata.issuer).pathname.split("/")[1] ?? "";
  if (!GUID.test(id)) throw new OAuthFlowError("unknown_tenant", { providerError: "issuer_without_tenant" });
  return id.toLowerCase();
}

/** resolveMicrosoftTenant for a tenant a person typed: what fails is a clear 4xx or "Microsoft unreachable". */
export async function resolveNamedTenant(config: Config, tenant: string): Promise<string> {
  try {
    return await resolveMicrosoftTenant(config, tenant);
  } catch (error) {
    if (!(error instanceof OAuthFlowError)) throw error;
    if (error.kind === "unknown_tenant")
      throw new AppError(
        "invalid_input",
        `Microsoft does not know a tenant called “${tenant}”. Type one of its verified domains or its tenant id, or leave the field empty.`,
      );
    throw new AppError("provider_unavailable", "We couldn't reach Microsoft. Please try again in a few minutes.");
  }
}

/**
 * The setup for one Microsoft round trip: endpoints of `authority` (`organizations`, or a tenant
 * id for a tenant-specific authority), issuer bound to `issuerTenant` when it is known.
 */
async function microsoftSetup(config: Config, authority: string, issuerTenant = "{tenantid}"): Promise<ProviderSetup> {
  const [endpoints, organizations] = await Promise.all([microsoftMetadata(config, authority), microsoftMetadata(config, "organizations")]);
  return {
    as: {
      // Multi-tenant: the issuer is the template of the `organizations` document with the token's own tenant.
      issuer: organizations.issuer.replace("{tenantid}", issuerTenant),
      authorization_endpoint: endpoints.authorization_endpoint,
      token_endpoint: endpoints.token_endpoint,
      jwks_uri: organizations.jwks_uri,
      id_token_signing_alg_values_supported: ["RS256"],
    },
    client: { client_id: config.MS_CLIENT_ID, id_token_signed_response_alg: "RS256" },
    clientAuth: oauth.ClientSecretPost(config.MS_CLIENT_SECRET),
    insecure: isLoopbackUrl(config.MS_AUTHORITY_HOST),
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

function setupFor(provider: OAuthProvider, config: Config, authority = "organizations"): Promise<ProviderSetup> {
  return provider === "microsoft" ? microsoftSetup(config, authority) : Promise.resolve(googleSetup(config));
}

interface AuthorizationRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

export async function buildAuthorizationRequest(
  provider: OAuthProvider,
  config: Config,
  options: { redirectUri: string; scope?: string; prompt?: string; tenantId?: string },
): Promise<AuthorizationRequest> {
  const { as, client } = await setupFor(provider, config, options.tenantId);
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

/**
 * The URL of Microsoft's tenant-wide admin consent endpoint
 * (https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent): the admin signs in,
 * consents for the whole tenant, and comes back with `admin_consent=True&tenant=…&scope=…&state=…`
 * or `error=…&error_description=…&state=…`. No code and no token: nothing to redeem.
 */
export function buildAdminConsentUrl(config: Config, options: { redirectUri: string; state: string; tenantId?: string }): URL {
  // The tenant the admin named (a guest admin consents for the tenant they mean), else
  // `organizations`: the admin's own tenant (the docs advise against `common`).
  const url = new URL(`${config.MS_AUTHORITY_HOST}/${options.tenantId ?? "organizations"}/v2.0/adminconsent`);
  url.search = new URLSearchParams({
    client_id: config.MS_CLIENT_ID,
    redirect_uri: options.redirectUri,
    // Everything Connect will ask for, OpenID scopes included ("the scope parameter … can include
    // the OIDC scopes"): where users may not consent at all, a partial grant would stop Connect.
    scope: ENTRA_CONNECT_SCOPE,
    state: options.state,
  }).toString();
  return url;
}

interface CompletedAuthorization {
  claims: oauth.IDToken;
  tokens: oauth.TokenEndpointResponse;
}

/**
 * Validates the callback, redeems the code and validates the ID token. Throws OAuthFlowError.
 * `tenantId`: the tenant-specific authority the round trip was started with (Microsoft only).
 */
export async function completeAuthorization(
  provider: OAuthProvider,
  config: Config,
  callbackUrl: URL,
  expected: { state: string; nonce: string; codeVerifier: string; redirectUri: string; tenantId?: string | null },
): Promise<CompletedAuthorization> {
  const authority = expected.tenantId ?? "organizations";
  const base = await setupFor(provider, config, authority);
  const http = {
    [oauth.allowInsecureRequests]: base.insecure,
    signal: () => AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
  };

  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(base.as, base.client, callbackUrl, expected.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      // Decided by the OAuth `error` field alone, as Microsoft documents its authorization endpoint
      // errors (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#error-codes-for-authorization-endpoint-errors);
      // the AADSTS code in the description is only shown, never used to decide.
      const kind = error.error === "access_denied" ? "cancelled" : "authorization_error";
      throw new OAuthFlowError(kind, { providerError: error.error, providerDescription: error.error_description, cause: error });
    }
    throw new OAuthFlowError("state_mismatch", { cause: error });
  }
  if (!CODE.test(params.get("code") ?? "")) throw new OAuthFlowError("malformed_callback");

  let response: Response;
  try {
    response = await oauth.authorizationCodeGrantRequest(
      base.as,
      base.client,
      base.clientAuth,
      params,
      expected.redirectUri,
      expected.codeVerifier,
      http,
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
  const setup = provider === "microsoft" ? await microsoftSetup(config, authority, await peekTenantId(response)) : base;
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
    if (provider === "microsoft" && (claims.tid !== peekedTenant(setup) || typeof claims.oid !== "string")) {
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

/** The tenant the issuer of this setup was bound to (the tid read from the token). */
function peekedTenant(setup: ProviderSetup): string | undefined {
  return new URL(setup.as.issuer).pathname.split("/")[1];
}

/**
 * Redeems a refresh token of an Entra connection at its tenant's own token endpoint: through
 * `organizations`, a guest admin's grant would come back for their home tenant. Throws OAuthFlowError.
 */
export async function redeemRefreshToken(config: Config, tenantId: string, refreshToken: string): Promise<oauth.TokenEndpointResponse> {
  const setup = await microsoftSetup(config, tenantId, tenantId);
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
    return await oauth.processRefreshTokenResponse(setup.as, setup.client, response);
  } catch (error) {
    if (error instanceof OAuthFlowError) throw error;
    if (error instanceof oauth.ResponseBodyError) {
      // Only a dead grant means "reconnect": invalid_client (our secret expired) and the like are
      // our or Microsoft's problem, and must not throw every customer's tokens away.
      const grantGone = error.error === "invalid_grant" || error.error === "interaction_required";
      throw new OAuthFlowError(grantGone ? "grant_rejected" : "authorization_error", {
        providerError: error.error,
        providerDescription: error.error_description,
        cause: error,
      });
    }
    throw new OAuthFlowError("authorization_error", { cause: error });
  }
}

async function peekTenantId(response: Response): Promise<string> {
  const body = (await response
    .clone()
    .json()
    .catch(() => null)) as { id_token?: unknown } | null;
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
