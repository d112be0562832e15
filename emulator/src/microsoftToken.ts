// POST /{tenant}/oauth2/v2.0/token: authorization_code (PKCE checked) and rotating refresh
// tokens, with Microsoft's error bodies. Access tokens are opaque; Graph looks them up in state.
import type { Context } from "hono";
import { directory, directoryRoleTemplateIds, findUser, type DirectoryUser } from "./directory.ts";
import type { EmulatorContext, EmulatorEnv } from "./env.ts";
import { identityError } from "./errors.ts";
import { clientCredentials, formFields, issueIdToken, pkceMatches } from "./oauth.ts";
import { adminOnlyPermissions, grantedScope } from "./scopes.ts";
import { issueAccessToken, issueRefreshToken, saveCode, state } from "./state.ts";
import { base64url, nowSeconds, sha256 } from "./util.ts";

type TokenContext = Context<EmulatorContext, "/:tenant/oauth2/v2.0/token">;

export async function microsoftToken(c: TokenContext): Promise<Response> {
  const form = formFields(await c.req.parseBody());
  const { clientId, clientSecret } = clientCredentials(c.req.header("Authorization"), form);
  if (!clientId)
    return identityError(c, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.");
  if (clientId !== c.env.MS_CLIENT_ID) {
    return identityError(
      c,
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${c.req.param("tenant")}'.`,
    );
  }
  if (!clientSecret) {
    return identityError(
      c,
      401,
      "invalid_client",
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }
  if (clientSecret !== c.env.MS_CLIENT_SECRET) {
    return identityError(
      c,
      401,
      "invalid_client",
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    );
  }
  if (form.grant_type === "authorization_code") return redeemCode(c, form, clientId);
  if (form.grant_type === "refresh_token") return redeemRefreshToken(c, form, clientId);
  return identityError(c, 400, "unsupported_grant_type", 70003, `The app requested an unsupported grant type '${form.grant_type ?? ""}'.`);
}

async function redeemCode(c: TokenContext, form: Record<string, string>, clientId: string): Promise<Response> {
  if (!form.code) return identityError(c, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'code'.");
  const grant = state.codes.get(form.code);
  if (!grant || grant.provider !== "microsoft" || grant.clientId !== clientId) {
    return identityError(
      c,
      400,
      "invalid_grant",
      70008,
      "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
    );
  }
  if (grant.redeemed) {
    return identityError(
      c,
      400,
      "invalid_grant",
      54005,
      "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
    );
  }
  // Any attempt uses the code up, so a leaked code cannot be tried against many verifiers.
  saveCode(form.code, { ...grant, redeemed: true });
  if (grant.expiresAt < Date.now()) {
    return identityError(
      c,
      400,
      "invalid_grant",
      70008,
      "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
    );
  }
  if (form.redirect_uri !== grant.redirectUri) {
    return identityError(
      c,
      400,
      "invalid_grant",
      500112,
      `The reply address '${form.redirect_uri ?? ""}' does not match the reply address '${grant.redirectUri}' provided when requesting Authorization code.`,
    );
  }
  if (!(await pkceMatches(form.code_verifier, grant.codeChallenge))) {
    return identityError(
      c,
      400,
      "invalid_grant",
      501481,
      "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
    );
  }
  const user = currentUser(grant.tenantId, grant.subject);
  if (!user.ok) return identityError(c, 400, "invalid_grant", user.code, user.message);
  return tokenResponse(c, { user: user.user, tenantId: grant.tenantId, clientId, scope: grant.scope, nonce: grant.nonce });
}

async function redeemRefreshToken(c: TokenContext, form: Record<string, string>, clientId: string): Promise<Response> {
  const grant = form.refresh_token ? state.refreshTokens.get(form.refresh_token) : undefined;
  if (!grant || grant.clientId !== clientId) {
    return identityError(c, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.");
  }
  if (grant.state === "revoked") {
    return identityError(
      c,
      400,
      "invalid_grant",
      50173,
      "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
      "bad_token",
    );
  }
  if (grant.expiresAt <= Date.now()) {
    return identityError(
      c,
      400,
      "invalid_grant",
      700082,
      "The refresh token has expired due to inactivity. The token was issued on a date and was inactive for the maximum inactive time.",
      "bad_token",
    );
  }
  // Graph permissions need the tenant's admin consent still in place (revoked through the admin API).
  const tenant = directory.tenants.get(grant.tenantId);
  if (adminOnlyPermissions(grant.scope).length > 0 && !tenant?.consentedClients.has(clientId)) {
    return identityError(
      c,
      400,
      "invalid_grant",
      65001,
      `The user or administrator has not consented to use the application with ID '${clientId}'. Send an interactive authorization request for this user and resource.`,
      "consent_required",
    );
  }
  const user = currentUser(grant.tenantId, grant.oid);
  if (!user.ok) return identityError(c, 400, "invalid_grant", user.code, user.message);
  // The old refresh token stays valid: Microsoft does not revoke it when used (see RefreshGrant).
  return tokenResponse(c, { user: user.user, tenantId: grant.tenantId, clientId, scope: grant.scope, nonce: undefined });
}

/** The user must still exist and be enabled when tokens are issued or refreshed. */
function currentUser(tenantId: string, oid: string): { ok: true; user: DirectoryUser } | { ok: false; code: number; message: string } {
  const tenant = directory.tenants.get(tenantId);
  const entry = tenant && findUser(tenant, oid);
  if (!entry || entry.deleted) return { ok: false, code: 50034, message: "The user account does not exist in the directory." };
  if (!entry.user.accountEnabled)
    return { ok: false, code: 50057, message: "User account is disabled. The account has been disabled by an administrator." };
  return { ok: true, user: entry.user };
}

interface Issue {
  user: DirectoryUser;
  tenantId: string;
  clientId: string;
  scope: string[];
  nonce: string | undefined;
}

async function tokenResponse(c: TokenContext, issue: Issue): Promise<Response> {
  const { user, tenantId, clientId, scope } = issue;
  const body: Record<string, unknown> = {
    token_type: "Bearer",
    scope: grantedScope(scope),
    expires_in: 3599,
    ext_expires_in: 3599,
    access_token: issueAccessToken({ tenantId, oid: user.id, clientId, scope }),
  };
  if (scope.includes("offline_access")) body.refresh_token = issueRefreshToken({ tenantId, oid: user.id, clientId, scope });
  if (scope.includes("openid")) body.id_token = await microsoftIdToken(c.env, issue);
  c.header("Cache-Control", "no-store");
  return c.json(body);
}

export async function microsoftIdToken(env: EmulatorEnv, issue: Issue): Promise<string> {
  const { user, tenantId, clientId, scope, nonce } = issue;
  const iat = nowSeconds();
  const guest = user.userType === "Guest";
  const claims: Record<string, unknown> = {
    aud: clientId,
    iss: `${env.EMULATOR_ORIGIN}/${tenantId}/v2.0`,
    iat,
    nbf: iat,
    exp: iat + 3600,
    name: user.displayName,
    oid: user.id,
    preferred_username: guest ? (user.mail ?? user.userPrincipalName) : user.userPrincipalName,
    // Microsoft's sub is pairwise: stable for one user and one app, different across apps.
    sub: base64url(await sha256(`${user.id}:${clientId}`)),
    tid: tenantId,
    ver: "2.0",
    acct: guest ? 1 : 0,
  };
  if (nonce !== undefined) claims.nonce = nonce;
  // wids: the user's directory role template ids, only when the registration's groupMembershipClaims
  // is "DirectoryRole" or "All" (access-token-claims-reference; Microsoft's ID token reference is
  // silent, and the app reads it from the ID token because its access tokens are Graph's).
  // https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference#payload-claims
  const wids = directoryRoleTemplateIds(user);
  if (["DirectoryRole", "All"].includes(state.registration.groupMembershipClaims) && wids.length > 0) claims.wids = wids;
  if (scope.includes("email") && user.mail) {
    claims.email = user.mail;
    // Optional claim xms_edov (the README has the registration list it with `email`): true when the
    // email "belongs to the tenant where the user account resides and the tenant admin has done
    // verification of the domain"; a guest's mail belongs to their home tenant.
    // https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims-reference
    const domain = user.mail.split("@")[1]?.toLowerCase();
    const verified = directory.tenants.get(tenantId)?.verifiedDomains.some((d) => d.name.toLowerCase() === domain) ?? false;
    claims.xms_edov = !guest && verified;
  }
  return issueIdToken("microsoft", claims);
}
