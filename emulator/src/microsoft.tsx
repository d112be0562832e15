// Microsoft identity platform v2.0: discovery, keys and the interactive authorize endpoint
// (account picker, admin consent). The token endpoint lives in microsoftToken.ts.
import { Hono, type Context } from "hono";
import { directory, findUser, grantConsent, guestFor, locateUser, type DirectoryUser, type Tenant, type UserEntry } from "./directory.ts";
import type { EmulatorContext, EmulatorEnv } from "./env.ts";
import { redirectErrorDescription } from "./errors.ts";
import { jwks } from "./keys.ts";
import { CODE_LIFETIME_MS, formFields, newCode, redirectTo, requestParams } from "./oauth.ts";
import { ConsentPage, MicrosoftSignInPage, NeedAdminApprovalPage, SignInErrorPage, type AccountChoice } from "./pages.tsx";
import { adminOnlyPermissions, grantedScope, graphPermissions, parseScope, SIGN_IN_SCOPES } from "./scopes.ts";
import { addConsentRequest, saveCode, state } from "./state.ts";
import { microsoftToken } from "./microsoftToken.ts";

export const microsoft = new Hono<EmulatorContext>();

const MULTI_TENANT = new Set(["common", "organizations"]);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The tenant segment of the path: a multi-tenant alias, a tenant GUID, or one of a tenant's
 * verified domain names ("Can be provided in GUID or friendly name format"; the issuer is always
 * the GUID's). https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
 */
export function resolveTenant(segment: string): { alias: string } | { tenant: Tenant } | undefined {
  const key = segment.toLowerCase();
  if (MULTI_TENANT.has(key)) return { alias: key };
  if (GUID.test(segment)) {
    const tenant = directory.tenants.get(key);
    return tenant ? { tenant } : undefined;
  }
  for (const tenant of directory.tenants.values()) {
    if (tenant.verifiedDomains.some((d) => d.name.toLowerCase() === key)) return { tenant };
  }
  return undefined;
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
    claims_supported: [
      "sub",
      "iss",
      "aud",
      "exp",
      "iat",
      "nbf",
      "name",
      "nonce",
      "oid",
      "preferred_username",
      "email",
      "tid",
      "ver",
      "acct",
    ],
    tenant_region_scope: "EU",
    cloud_instance_name: new URL(origin).host,
  });
});

microsoft.get("/:tenant/discovery/v2.0/keys", async (c) => c.json(await jwks("microsoft")));

microsoft.post("/:tenant/oauth2/v2.0/token", microsoftToken);

/** The app registration's redirect URIs; /setup/entra/callback receives the admin-consent link's return. */
function registeredRedirectUris(env: EmulatorEnv): string[] {
  return [
    `${env.APP_ORIGIN}/auth/microsoft/callback`,
    `${env.APP_ORIGIN}/settings/integrations/entra/callback`,
    `${env.APP_ORIGIN}/setup/entra/callback`,
  ];
}

type Checked = { ok: true; redirectUri: string; scopes: string[] } | { ok: false; response: Response | Promise<Response> };

/** Validates an authorization request; errors before redirect_uri is trusted never redirect. */
function checkAuthorizeRequest(c: Context<EmulatorContext>, params: Record<string, string>): Checked {
  const fail = (response: Response | Promise<Response>): Checked => ({ ok: false, response });
  const segment = c.req.param("tenant") ?? "";
  if (params.client_id !== c.env.MS_CLIENT_ID) {
    return fail(
      errorPage(
        c,
        `AADSTS700016: Application with identifier '${params.client_id ?? ""}' was not found in the directory '${segment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      ),
    );
  }
  if (!resolveTenant(segment)) return fail(errorPage(c, tenantNotFound(segment)));
  const redirectUri = params.redirect_uri ?? "";
  if (!registeredRedirectUris(c.env).includes(redirectUri)) {
    return fail(
      errorPage(
        c,
        `AADSTS50011: The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${params.client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`,
      ),
    );
  }
  const back = (error: string, description: string) =>
    fail(redirectTo(redirectUri, { error, error_description: description, state: params.state }));
  if (params.response_type !== "code") {
    return back(
      "unsupported_response_type",
      `AADSTS700054: response_type '${params.response_type ?? ""}' is not enabled for the application.`,
    );
  }
  if (params.response_mode !== undefined && params.response_mode !== "query") {
    return back("invalid_request", `AADSTS900144: The emulator answers with response_mode=query only, not '${params.response_mode}'.`);
  }
  if (!params.code_challenge) {
    return back(
      "invalid_request",
      "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
    );
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
      // The multi-tenant picker lists accounts: a guest whose account is emulated elsewhere signs in as that account.
      if (!oneTenant && u.homeOid) continue;
      const note = [u.globalAdmin ? "Global Administrator" : "", u.userType === "Guest" ? "guest" : "", u.accountEnabled ? "" : "disabled"]
        .filter(Boolean)
        .join(", ");
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

/** The error an app gets back when a user declines (Cancel) or leaves "Need admin approval" without consenting. */
const DECLINED = {
  error: "access_denied",
  error_subcode: "cancel",
  error_description: "AADSTS65004: User declined to consent to access the app.",
};

type SignIn = { ok: true; tenant: Tenant; user: DirectoryUser } | { ok: false; response: Response | Promise<Response> };

/**
 * Who signs in, and for which tenant. Through common/organizations an account gets a token for its
 * own (home) tenant; through a tenant's GUID or domain, for that tenant, where a guest is the guest
 * object that stands for the account.
 * https://learn.microsoft.com/en-us/entra/identity-platform/msal-client-application-configuration#authority
 * https://learn.microsoft.com/en-us/entra/external-id/b2b-quickstart-add-guest-users-portal (guests sign in with the tenant's endpoint)
 */
function signInFor(c: Context<EmulatorContext>, segment: string, account: string): SignIn {
  const resolved = resolveTenant(segment);
  let found: { tenant: Tenant; entry: UserEntry } | undefined;
  if (resolved && "tenant" in resolved) {
    const entry = findUser(resolved.tenant, account) ?? guestFor(resolved.tenant, account);
    found = entry && { tenant: resolved.tenant, entry };
  } else {
    found = locateUser(account);
    const homeOid = found?.entry.user.homeOid;
    if (homeOid) found = locateUser(homeOid) ?? found;
  }
  if (!found || found.entry.deleted) {
    return {
      ok: false,
      response: errorPage(
        c,
        `AADSTS50034: The user account does not exist in the '${segment}' directory. To sign into this application, the account must be added to the directory.`,
      ),
    };
  }
  if (!found.entry.user.accountEnabled) {
    return {
      ok: false,
      response: errorPage(c, "AADSTS50057: User account is disabled. The account has been disabled by an administrator."),
    };
  }
  return { ok: true, tenant: found.tenant, user: found.entry.user };
}

microsoft.post("/:tenant/oauth2/v2.0/authorize", async (c) => {
  const { params, controls } = requestParams(c.req.query(), formFields(await c.req.parseBody()));
  const checked = checkAuthorizeRequest(c, params);
  if (!checked.ok) return checked.response;
  const { redirectUri, scopes } = checked;
  const segment = c.req.param("tenant");
  // Cancel on the picker or the consent page, and "Return to the application without granting
  // consent" on Need admin approval, all come back the same way: the app cannot tell them apart.
  if (controls.cancel === "1" || controls.consent === "cancel" || controls.approval === "return") {
    return redirectTo(redirectUri, { ...DECLINED, state: params.state });
  }
  // "Have an admin account? Sign in with that account": back to the picker.
  if (!controls.account || controls.approval === "switch") {
    return c.html(<MicrosoftSignInPage action={c.req.path} params={params} accounts={pickerAccounts(segment)} />);
  }
  const signIn = signInFor(c, segment, controls.account);
  if (!signIn.ok) return signIn.response;
  const { tenant, user } = signIn;

  const permissions = adminOnlyPermissions(scopes);
  const consented = tenant.consentedClients.has(params.client_id!);
  const wantsPrompt = params.prompt === "consent" || params.prompt === "admin_consent";
  if (permissions.length > 0 && controls.consent !== "accept" && (!consented || (wantsPrompt && user.globalAdmin))) {
    if (!user.globalAdmin) return needAdminApproval(c, tenant, user, params, permissions, controls);
    return c.html(
      <ConsentPage
        action={c.req.path}
        params={{ ...params, account: user.id }}
        permissions={[...permissions, ...scopes.filter((s) => SIGN_IN_SCOPES.has(s))]}
        userName={`${user.displayName} (${signInEmail(user)})`}
        appName="UniAsset"
      />,
    );
  }
  if (permissions.length > 0 && controls.consent === "accept") {
    // Only an admin's Accept records consent; a forged accept from anyone else changes nothing.
    if (user.globalAdmin) grantConsent(tenant, params.client_id!);
    else if (!consented) return errorPage(c, "AADSTS90094: Admin consent is required for the permissions requested by this application.");
  }

  const code = newCode();
  saveCode(code, {
    provider: "microsoft",
    clientId: params.client_id!,
    redirectUri,
    codeChallenge: params.code_challenge!,
    nonce: params.nonce,
    scope: scopes,
    subject: user.id,
    tenantId: tenant.id,
    expiresAt: Date.now() + CODE_LIFETIME_MS,
    redeemed: false,
  });
  return redirectTo(redirectUri, { code, state: params.state, session_state: crypto.randomUUID() });
});

/**
 * A non-admin asking for permissions only an admin can grant, in a tenant that has not consented:
 * Microsoft does not redirect back; it shows "Need admin approval" (AADSTS90094), or, with the
 * tenant's admin consent workflow on, "Approval required" where the user can send a request.
 * https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/application-sign-in-unexpected-user-consent-error#requesting-not-authorized-permissions-error
 * https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/configure-admin-consent-workflow
 */
function needAdminApproval(
  c: Context<EmulatorContext>,
  tenant: Tenant,
  user: DirectoryUser,
  params: Record<string, string>,
  permissions: string[],
  controls: Record<string, string>,
): Response | Promise<Response> {
  const workflow = state.adminConsentWorkflow.get(tenant.id) ?? false;
  const carried = { ...params, account: user.id };
  if (workflow && controls.approval === "request") {
    addConsentRequest({
      tenantId: tenant.id,
      clientId: params.client_id!,
      oid: user.id,
      permissions,
      justification: controls.justification ?? "",
      requestedAt: new Date().toISOString(),
    });
    return c.html(
      <NeedAdminApprovalPage action={c.req.path} params={carried} userName={signInEmail(user)} appName="UniAsset" variant="sent" />,
    );
  }
  return c.html(
    <NeedAdminApprovalPage
      action={c.req.path}
      params={carried}
      userName={signInEmail(user)}
      appName="UniAsset"
      variant={workflow ? "request" : "need"}
    />,
  );
}

// Tenant-wide admin consent: sign-in, then the consent page for an admin; the answer comes back to
// the redirect URI as admin_consent=True&tenant&scope&state, or admin_consent=True&error&error_description&state.
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent
type AdminConsentChecked = { ok: true; redirectUri: string; scopes: string[] } | { ok: false; response: Response | Promise<Response> };

function checkAdminConsentRequest(c: Context<EmulatorContext>, params: Record<string, string>): AdminConsentChecked {
  const fail = (response: Response | Promise<Response>): AdminConsentChecked => ({ ok: false, response });
  const segment = c.req.param("tenant") ?? "";
  if (params.client_id !== c.env.MS_CLIENT_ID) {
    return fail(
      errorPage(c, `AADSTS700016: Application with identifier '${params.client_id ?? ""}' was not found in the directory '${segment}'.`),
    );
  }
  if (!resolveTenant(segment)) return fail(errorPage(c, tenantNotFound(segment)));
  const redirectUri = params.redirect_uri ?? "";
  if (!registeredRedirectUris(c.env).includes(redirectUri)) {
    return fail(
      errorPage(
        c,
        `AADSTS50011: The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${params.client_id}'.`,
      ),
    );
  }
  const scopes = parseScope(params.scope);
  if (scopes.length === 0) {
    return fail(
      redirectTo(redirectUri, {
        admin_consent: "True",
        error: "invalid_request",
        error_description: redirectErrorDescription(900144, "The request body must contain the following parameter: 'scope'."),
        state: params.state,
      }),
    );
  }
  return { ok: true, redirectUri, scopes };
}

microsoft.get("/:tenant/v2.0/adminconsent", (c) => {
  const { params } = requestParams(c.req.query(), {});
  const checked = checkAdminConsentRequest(c, params);
  if (!checked.ok) return checked.response;
  return c.html(<MicrosoftSignInPage action={c.req.path} params={params} accounts={pickerAccounts(c.req.param("tenant"))} />);
});

microsoft.post("/:tenant/v2.0/adminconsent", async (c) => {
  const { params, controls } = requestParams(c.req.query(), formFields(await c.req.parseBody()));
  const checked = checkAdminConsentRequest(c, params);
  if (!checked.ok) return checked.response;
  const { redirectUri, scopes } = checked;
  const back = (error: string, code: number, message: string) =>
    redirectTo(redirectUri, {
      admin_consent: "True",
      error,
      error_description: redirectErrorDescription(code, message),
      state: params.state,
    });
  // The documented error response: an admin who does not approve (Cancel on the consent page, or
  // on the picker before it) gets consent_required with AADSTS65004, admin_consent=True and no tenant.
  const declined = () => back("consent_required", 65004, "The resource owner or authorization server denied the request.");
  if (controls.cancel === "1" || controls.consent === "cancel") return declined();
  if (!controls.account)
    return c.html(<MicrosoftSignInPage action={c.req.path} params={params} accounts={pickerAccounts(c.req.param("tenant"))} />);
  const signIn = signInFor(c, c.req.param("tenant"), controls.account);
  if (!signIn.ok) return signIn.response;
  const { tenant, user } = signIn;
  // Microsoft documents no separate answer for a non-admin here; the emulator uses the documented
  // error shape with AADSTS90094 (admin permission required).
  if (!user.globalAdmin) {
    return back(
      "consent_required",
      90094,
      "The grant requires admin permission. Only an administrator can consent on behalf of the organization.",
    );
  }
  if (controls.consent !== "accept") {
    return c.html(
      <ConsentPage
        action={c.req.path}
        params={{ ...params, account: user.id }}
        permissions={[...graphPermissions(scopes), ...scopes.filter((s) => SIGN_IN_SCOPES.has(s))]}
        userName={`${user.displayName} (${signInEmail(user)})`}
        appName="UniAsset"
      />,
    );
  }
  grantConsent(tenant, params.client_id!);
  return redirectTo(redirectUri, { admin_consent: "True", tenant: tenant.id, scope: grantedScope(scopes), state: params.state });
});
