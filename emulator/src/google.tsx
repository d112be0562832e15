// Google's OpenID Connect endpoints (under /google): discovery, certs, the account chooser and
// the token endpoint, with Google's terse error bodies.
import { Hono, type Context } from "hono";
import { GOOGLE_ACCOUNTS } from "../../demo/directory.ts";
import type { EmulatorContext } from "./env.ts";
import { googleError } from "./errors.ts";
import { jwks } from "./keys.ts";
import { clientCredentials, CODE_LIFETIME_MS, formFields, issueIdToken, newCode, pkceMatches, redirectTo, requestParams } from "./oauth.ts";
import { GoogleChooserPage, SignInErrorPage } from "./pages.tsx";
import { parseScope } from "./scopes.ts";
import { saveCode, state } from "./state.ts";
import { nowSeconds, randomToken } from "./util.ts";

export const google = new Hono<EmulatorContext>();

google.get("/.well-known/openid-configuration", (c) => {
  const base = `${c.env.EMULATOR_ORIGIN}/google`;
  return c.json({
    issuer: base,
    authorization_endpoint: `${base}/o/oauth2/v2/auth`,
    token_endpoint: `${base}/token`,
    jwks_uri: `${base}/oauth2/v3/certs`,
    response_types_supported: ["code"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    scopes_supported: ["openid", "email", "profile"],
    token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
    claims_supported: ["aud", "email", "email_verified", "exp", "hd", "iat", "iss", "name", "sub", "nonce"],
    code_challenge_methods_supported: ["plain", "S256"],
  });
});

google.get("/oauth2/v3/certs", async (c) => c.json(await jwks("google")));

type Checked = { ok: true; redirectUri: string } | { ok: false; response: Response | Promise<Response> };

function checkAuthorizeRequest(c: Context<EmulatorContext>, params: Record<string, string>): Checked {
  const page = (message: string): Checked => ({ ok: false, response: c.html(<SignInErrorPage message={message} />, 400) });
  if (params.client_id !== c.env.GOOGLE_CLIENT_ID) return page(`Error 401: invalid_client. The OAuth client was not found.`);
  const redirectUri = params.redirect_uri ?? "";
  if (redirectUri !== `${c.env.APP_ORIGIN}/auth/google/callback`) {
    return page(
      `Error 400: redirect_uri_mismatch. You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. redirect_uri=${redirectUri}`,
    );
  }
  const back = (description: string): Checked => ({
    ok: false,
    response: redirectTo(redirectUri, { error: "invalid_request", error_description: description, state: params.state }),
  });
  if (params.response_type !== "code") return back("Invalid response_type");
  if (!params.code_challenge || params.code_challenge_method !== "S256")
    return back("Missing or unsupported code_challenge (S256 required)");
  if (!parseScope(params.scope).includes("openid")) return back("Missing required parameter: scope openid");
  return { ok: true, redirectUri };
}

const accounts = () => GOOGLE_ACCOUNTS.map((a) => ({ value: a.sub, name: a.name, email: a.email }));

google.get("/o/oauth2/v2/auth", (c) => {
  const { params } = requestParams(c.req.query(), {});
  const checked = checkAuthorizeRequest(c, params);
  if (!checked.ok) return checked.response;
  return c.html(<GoogleChooserPage action={c.req.path} params={params} accounts={accounts()} />);
});

google.post("/o/oauth2/v2/auth", async (c) => {
  const { params, controls } = requestParams(c.req.query(), formFields(await c.req.parseBody()));
  const checked = checkAuthorizeRequest(c, params);
  if (!checked.ok) return checked.response;
  if (controls.cancel === "1") return redirectTo(checked.redirectUri, { error: "access_denied", state: params.state });
  const account = GOOGLE_ACCOUNTS.find((a) => a.sub === controls.account);
  if (!account) return c.html(<GoogleChooserPage action={c.req.path} params={params} accounts={accounts()} />);
  const code = newCode();
  saveCode(code, {
    provider: "google",
    clientId: params.client_id!,
    redirectUri: checked.redirectUri,
    codeChallenge: params.code_challenge!,
    nonce: params.nonce,
    scope: parseScope(params.scope),
    subject: account.sub,
    tenantId: "",
    expiresAt: Date.now() + CODE_LIFETIME_MS,
    redeemed: false,
  });
  return redirectTo(checked.redirectUri, { code, state: params.state, scope: params.scope, authuser: "0", prompt: "consent" });
});

google.post("/token", async (c) => {
  const form = formFields(await c.req.parseBody());
  const { clientId, clientSecret } = clientCredentials(c.req.header("Authorization"), form);
  if (clientId !== c.env.GOOGLE_CLIENT_ID || clientSecret !== c.env.GOOGLE_CLIENT_SECRET) {
    return googleError(c, 401, "invalid_client", "Unauthorized");
  }
  if (form.grant_type !== "authorization_code")
    return googleError(c, 400, "unsupported_grant_type", "Invalid grant_type: " + (form.grant_type ?? ""));
  const grant = form.code ? state.codes.get(form.code) : undefined;
  if (!grant || grant.provider !== "google" || grant.redeemed || grant.expiresAt < Date.now() || grant.clientId !== clientId) {
    if (grant) saveCode(form.code!, { ...grant, redeemed: true });
    return googleError(c, 400, "invalid_grant", "Bad Request");
  }
  saveCode(form.code!, { ...grant, redeemed: true });
  if (form.redirect_uri !== grant.redirectUri || !(await pkceMatches(form.code_verifier, grant.codeChallenge))) {
    return googleError(c, 400, "invalid_grant", "Bad Request");
  }
  const account = GOOGLE_ACCOUNTS.find((a) => a.sub === grant.subject)!;
  const iat = nowSeconds();
  const claims: Record<string, unknown> = {
    iss: `${c.env.EMULATOR_ORIGIN}/google`,
    azp: clientId,
    aud: clientId,
    sub: account.sub,
    email: account.email,
    email_verified: true,
    name: account.name,
    iat,
    exp: iat + 3600,
  };
  if (grant.nonce !== undefined) claims.nonce = grant.nonce;
  // hd: "The domain associated with the Google Workspace or Cloud organization of the user",
  // only for such accounts (https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload).
  if (account.hd) claims.hd = account.hd;
  c.header("Cache-Control", "no-store");
  return c.json({
    access_token: `ya29.${randomToken()}`,
    expires_in: 3599,
    id_token: await issueIdToken("google", claims),
    scope: grant.scope.join(" "),
    token_type: "Bearer",
  });
});
