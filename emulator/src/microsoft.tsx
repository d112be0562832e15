// Microsoft identity platform v2.0: discovery, keys and the interactive authorize endpoint
// (account picker, admin consent). The token endpoint lives in microsoft-token.ts.
import { Hono, type Context } from "hono";
import { directory, findUser, locateUser, type DirectoryUser, type Tenant } from "./directory.ts";
import type { EmulatorContext, EmulatorEnv } from "./env.ts";
import { jwks } from "./keys.ts";
import { CODE_LIFETIME_MS, formFields, newCode, redirectTo, requestParams } from "./oauth.ts";
import { ConsentPage, MicrosoftSignInPage, SignInErrorPage, type AccountChoice } from "./pages.tsx";
import { graphPermissions, parseScope, SIGN_IN_SCOPES } from "./scopes.ts";
import { state } from "./state.ts";
import { microsoftToken } from "./microsoft-token.ts";

export const microsoft = new Hono<EmulatorContext>();

const MULTI_TENANT = new Set(["common", "organizations"]);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The tenant segment of the path: a multi-tenant alias, a known tenant, or not found. */
export function resolveTenant(segment: string): { alias: string } | { tenant: Tenant } | undefined {
  if (MULTI_TENANT.has(segment.toLowerCase())) return { alias: segment.toLowerCase() };
  if (!GUID.test(segment)) return undefined;
  const tenant = directory.tenants.get(segment.toLowerCase());
  return tenant ? { tenant } : undefined;
}

export function tenantNotFound(segment: string): string {
  return `AADSTS90002: Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`;
}

microsoft.get("/:tenant/v2.0/.well-known/openid-configuration", (c) => {
  const segment = c.req.param("tenant");
  const resolved = resolveTenant(segment);
  if (!resolved) return c.json({ error: "invalid_tenant", error_description: tenantNotFound(segment) }, 400);
  const origin = c.env.EMULATOR_ORIGIN;
  const issuerTenant = "tenant" in resolved ? resolved.tenant.id : "{tenantid}";
  return c.json({
    issuer: `${origin}/${issuerTenant}/v2.0`,
    authorization_endpoint: `${origin}/${segment}/oauth2/v2.0/authorize`,
    token_endpoint: `${origin}/${segment}/oauth2/v2.0/token`,
    jwks_uri: `${origin}/${segment}/discovery/v2.0/keys`,
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    subject_types_supported: ["pairwise"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    id_token_signing_alg_values_supported: ["RS256"],
    token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
    code_challenge_methods_supported: ["S256"],
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "nonce", "oid", "preferred_username", "email", "tid", "ver", "acct"],
    tenant_region_scope: "EU",
    cloud_instance_name: new URL(origin).host,
  });
});

microsoft.get("/:tenant/discovery/v2.0/keys", async (c) => c.json(await jwks("microsoft")));

microsoft.post("/:tenant/oauth2/v2.0/token", microsoftToken);

function registeredRedirectUris(env: EmulatorEnv): string[] {
  return [`${env.APP_ORIGIN}/auth/microsoft/callback`, `${env.APP_ORIGIN}/settings/integrations/entra/callback`];
}

type Checked = { ok: true; redirectUri: string; scopes: string[] } | { ok: false; response: Response | Promise<Response> };

/** Validates an authorization request; errors before redirect_uri is trusted never redirect. */
function checkAuthorizeRequest(c: Context<EmulatorContext>, params: Record<string, string>): Checked {
  const fail = (response: Response | Promise<Response>): Checked => ({ ok: false, response });
  const segment = c.req.param("tenant") ?? "";
  if (params.client_id !== c.env.MS_CLIENT_ID) {
    return fail(errorPage(c, `AADSTS700016: Application with identifier '${params.client_id ?? ""}' was not found in the directory '${segment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`));
  }
  if (!resolveTenant(segment)) return fail(errorPage(c, tenantNotFound(segment)));
  const redirectUri = params.redirect_uri ?? "";
  if (!registeredRedirectUris(c.env).includes(redirectUri)) {
    return fail(errorPage(c, `AADSTS50011: The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${params.client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`));
  }
  const back = (error: string, description: string) =>
    fail(redirectTo(redirectUri, { error, error_description: description, state: params.state }));
  if (params.response_type !== "code") {
    return back("unsupported_response_type", `AADSTS700054: response_type '${params.response_type ?? ""}' is not enabled for the application.`);
  }
  if (params.response_mode !== undefined && params.response_mode !== "query") {
    return back("invalid_request", `AADSTS900144: The emulator answers with response_mode=query only, not '${params.response_mode}'.`);
  }
  if (!params.code_challenge) {
    return back("invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.");
  }
  if (params.code_challenge_method !== "S256") {
    return back("invalid_request", "AADSTS501491: The code_challenge_method must be S256; plain is not accepted by this application.");
  }
  const scopes = parseScope(params.scope);
  if (scopes.length === 0) return back("invalid_request", "AADSTS900144: The request body must contain the following parameter: 'scope'.");
  return { ok: true, redirectUri, scopes };
}

function errorPage(c: Context<EmulatorContext>, message: string): Response | Promise<Response> {
  return c.html(<SignInErrorPage message={message} />, 400);
}

function signInEmail(user: DirectoryUser): string {
  return user.userType === "Guest" ? (user.mail ?? user.userPrincipalName) : user.userPrincipalName;
}

/** Accounts on the picker: the tenant's users, or every demo user for common/organizations. */
function pickerAccounts(segment: string): AccountChoice[] {
  const resolved = resolveTenant(segment);
  const oneTenant = resolved && "tenant" in resolved;
  const tenants = oneTenant ? [resolved.tenant] : [...directory.tenants.values()];
  const accounts: AccountChoice[] = [];
  for (const tenant of tenants) {
    // A synthetic tenant would list 100k buttons: its first few users on its own page, only its
    // admin on the multi-tenant one (any of its users can still sign in by object id).
    const visible = tenant.synthetic ? Math.min(tenant.baseCount, oneTenant ? 5 : 1) : tenant.baseCount;
    const oids = [...Array.from({ length: visible }, (_, i) => tenant.baseUser(i).id), ...tenant.added];
    for (const oid of oids) {
      const entry = findUser(tenant, oid);
      if (!entry || entry.deleted) continue;
      const u = entry.user;
      const note = [u.globalAdmin ? "Global Administrator" : "", u.userType === "Guest" ? "guest" : "", u.accountEnabled ? "" : "disabled"].filter(Boolean).join(", ");
      accounts.push({ value: u.id, name: u.displayName, email: signInEmail(u), ...(note ? { note } : {}) });
    }
  }
  return accounts;
}

microsoft.get("/:tenant/oauth2/v2.0/authorize", (c) => {
  const { params } = requestParams(c.req.query(), {});
  const checked = checkAuthorizeRequest(c, params);
  if (!checked.ok) return checked.response;
  return c.html(<MicrosoftSignInPage action={c.req.path} params={params} accounts={pickerAccounts(c.req.param("tenant"))} />);
});

microsoft.post("/:tenant/oauth2/v2.0/authorize", async (c) => {
  const { params, controls } = requestParams(c.req.query(), formFields(await c.req.parseBody()));
  const checked = checkAuthorizeRequest(c, params);
  if (!checked.ok) return checked.response;
  const { redirectUri, scopes } = checked;
  const segment = c.req.param("tenant");
  if (controls.cancel === "1" || controls.consent === "cancel") {
    return redirectTo(redirectUri, { error: "access_denied", error_description: "AADSTS65004: User declined to consent to access the app.", state: params.state });
  }
  if (!controls.account) return c.html(<MicrosoftSignInPage action={c.req.path} params={params} accounts={pickerAccounts(segment)} />);

  const resolved = resolveTenant(segment);
  const found = resolved && "tenant" in resolved
    ? (() => { const entry = findUser(resolved.tenant, controls.account); return entry && { tenant: resolved.tenant, entry }; })()
    : locateUser(controls.account);
  if (!found || found.entry.deleted) {
    return errorPage(c, `AADSTS50034: The user account does not exist in the '${segment}' directory. To sign into this application, the account must be added to the directory.`);
  }
  const { tenant, entry: { user } } = found;
  if (!user.accountEnabled) return errorPage(c, "AADSTS50057: User account is disabled. The account has been disabled by an administrator.");

  const permissions = graphPermissions(scopes);
  const consented = tenant.consentedClients.has(params.client_id!);
  const wantsPrompt = params.prompt === "consent" || params.prompt === "admin_consent";
  if (permissions.length > 0 && controls.consent !== "accept" && (!consented || (wantsPrompt && user.globalAdmin))) {
    if (!user.globalAdmin) {
      return redirectTo(redirectUri, {
        error: "consent_required",
        error_description: "AADSTS90094: Admin consent is required for the permissions requested by this application. An admin consent request may be sent to the admin.",
        state: params.state,
      });
    }
    return c.html(
      <ConsentPage action={c.req.path} params={{ ...params, account: user.id }} permissions={[...permissions, ...scopes.filter((s) => SIGN_IN_SCOPES.has(s))]}
        userName={`${user.displayName} (${signInEmail(user)})`} appName="UniAsset" />,
    );
  }
  if (permissions.length > 0 && controls.consent === "accept") {
    // Only an admin's Accept records consent; a forged accept from anyone else changes nothing.
    if (user.globalAdmin) tenant.consentedClients.add(params.client_id!);
    else if (!consented) return errorPage(c, "AADSTS90094: Admin consent is required for the permissions requested by this application.");
  }

  const code = newCode();
  state.codes.set(code, {
    provider: "microsoft", clientId: params.client_id!, redirectUri, codeChallenge: params.code_challenge!,
    nonce: params.nonce, scope: scopes, subject: user.id, tenantId: tenant.id,
    expiresAt: Date.now() + CODE_LIFETIME_MS, redeemed: false,
  });
  return redirectTo(redirectUri, { code, state: params.state, session_state: crypto.randomUUID() });
});
