// Drives the emulator the way a browser and the app would: PKCE, the account picker's form,
// the token endpoint, and ID-token signature checks against the published JWKS.
import { env } from "cloudflare:test";
import { EMULATOR } from "../support/emulator.ts";

export { EMULATOR };
export const APP = env.APP_ORIGIN;
export const MS_CALLBACK = `${APP}/auth/microsoft/callback`;
export const ENTRA_CALLBACK = `${APP}/settings/integrations/entra/callback`;
export const GOOGLE_CALLBACK = `${APP}/auth/google/callback`;

export function b64url(bytes: Uint8Array | ArrayBuffer): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return btoa(String.fromCharCode(...view))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

export async function pkce(): Promise<{ verifier: string; challenge: string }> {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return { verifier, challenge };
}

const decodeEntities = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

/** The hidden inputs of the page's form, as the browser would submit them. */
export function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"\/?>/g))
    fields[decodeEntities(m[1]!)] = decodeEntities(m[2]!);
  return fields;
}

export function formAction(html: string): string {
  return decodeEntities(/<form method="post" action="([^"]*)"/.exec(html)![1]!);
}

/** Submits the page's form with one button pressed (name=value). */
export async function press(html: string, button: Record<string, string>): Promise<Response> {
  return fetch(`${EMULATOR}${formAction(html)}`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...hiddenFields(html), ...button }),
    redirect: "manual",
  });
}

export interface AuthorizeOptions {
  tenant?: string;
  scope?: string;
  redirectUri?: string;
  challenge?: string;
  extra?: Record<string, string>;
  /** Press "Accept" if the admin consent page comes up. */
  acceptConsent?: boolean;
}

export function microsoftAuthorizeUrl(o: AuthorizeOptions & { challenge: string }): string {
  const params = new URLSearchParams({
    client_id: env.MS_CLIENT_ID,
    response_type: "code",
    redirect_uri: o.redirectUri ?? MS_CALLBACK,
    scope: o.scope ?? "openid profile email offline_access",
    state: "state-123",
    nonce: "nonce-456",
    code_challenge: o.challenge,
    code_challenge_method: "S256",
    response_mode: "query",
    ...o.extra,
  });
  return `${EMULATOR}/${o.tenant ?? "common"}/oauth2/v2.0/authorize?${params}`;
}

/** Opens the picker and chooses an account; returns the response to that choice. */
export async function signInAs(oid: string, o: AuthorizeOptions = {}): Promise<{ response: Response; verifier: string }> {
  const { verifier, challenge } = await pkce();
  const page = await fetch(microsoftAuthorizeUrl({ ...o, challenge }), { redirect: "manual" });
  if (page.status !== 200) throw new Error(`authorize page: ${page.status}`);
  let response = await press(await page.text(), { account: oid });
  if (o.acceptConsent && response.status === 200) {
    const html = await response.text();
    if (!html.includes("Permissions requested")) throw new Error(`unexpected page: ${html}`);
    response = await press(html, { consent: "accept" });
  }
  return { response, verifier };
}

export function redirectParams(response: Response): URLSearchParams {
  const location = response.headers.get("Location");
  if (!location) throw new Error(`expected a redirect, got ${response.status}`);
  return new URL(location).searchParams;
}

export async function microsoftToken(form: Record<string, string>, tenant = "common"): Promise<Response> {
  return fetch(`${EMULATOR}/${tenant}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: env.MS_CLIENT_ID, client_secret: env.MS_CLIENT_SECRET, ...form }),
  });
}

/** Full sign-in: picker → code → tokens. */
export async function microsoftTokens(oid: string, o: AuthorizeOptions = {}): Promise<Record<string, unknown>> {
  const { response, verifier } = await signInAs(oid, o);
  const code = redirectParams(response).get("code");
  if (!code) throw new Error(`no code: ${response.headers.get("Location")}`);
  const res = await microsoftToken({
    grant_type: "authorization_code",
    code,
    redirect_uri: o.redirectUri ?? MS_CALLBACK,
    code_verifier: verifier,
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

export const GRAPH_SCOPE =
  "openid profile offline_access https://graph.microsoft.com/User.Read.All https://graph.microsoft.com/Group.Read.All";

/** Consents for a tenant through its admin, so Graph tokens can be obtained for any user. */
export async function graphToken(oid: string, tenant = "common"): Promise<string> {
  const tokens = await microsoftTokens(oid, { tenant, scope: GRAPH_SCOPE, acceptConsent: true });
  return tokens.access_token as string;
}

export function decodeJwt(jwt: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, p] = jwt.split(".");
  const decode = (s: string) => JSON.parse(atob(s.replace(/-/g, "+").replace(/_/g, "/")));
  return { header: decode(h!), claims: decode(p!) };
}

/** Verifies an RS256 JWT against a JWKS URL with WebCrypto. */
export async function verifiesAgainst(jwt: string, jwksUrl: string): Promise<boolean> {
  const { header } = decodeJwt(jwt);
  const { keys } = (await (await fetch(jwksUrl)).json()) as { keys: (JsonWebKey & { kid: string })[] };
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk) return false;
  const key = await crypto.subtle.importKey("jwk", jwk, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
  const [h, p, s] = jwt.split(".");
  const signature = Uint8Array.from(atob(s!.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
  return crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, signature, new TextEncoder().encode(`${h}.${p}`));
}

export async function graph(path: string, token: string, headers: Record<string, string> = {}): Promise<Response> {
  const url = path.startsWith("http") ? path : `${EMULATOR}${path}`;
  return fetch(url, { headers: { Authorization: `Bearer ${token}`, ...headers } });
}
