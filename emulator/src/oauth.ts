// Pieces of OAuth 2.0 both emulated providers share: PKCE, client authentication, redirects
// back to the app, and ID tokens (with the tamper API's one-shot corruption applied here).
import { signJwt, type Issuer } from "./keys.ts";
import { takeTamper } from "./state.ts";
import { base64url, randomToken, sha256 } from "./util.ts";

export const CODE_LIFETIME_MS = 10 * 60_000;

/** The authorization request parameters the pages carry; control fields are the buttons. */
const CONTROL_FIELDS = new Set(["account", "cancel", "consent", "approval", "justification"]);

export function requestParams(
  query: Record<string, string>,
  form: Record<string, string>,
): {
  params: Record<string, string>;
  controls: Record<string, string>;
} {
  const merged = { ...query, ...form };
  const params: Record<string, string> = {};
  const controls: Record<string, string> = {};
  for (const [name, value] of Object.entries(merged)) (CONTROL_FIELDS.has(name) ? controls : params)[name] = value;
  return { params, controls };
}

/** Form fields as strings (files and repeated fields are not part of these protocols). */
export function formFields(body: Record<string, unknown>): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) if (typeof value === "string") fields[name] = value;
  return fields;
}

export async function pkceMatches(verifier: string | undefined, challenge: string): Promise<boolean> {
  if (!verifier || !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) return false;
  return base64url(await sha256(verifier)) === challenge;
}

/** client_secret_post or client_secret_basic (RFC 6749 §2.3.1: both parts form-urlencoded). */
export function clientCredentials(
  authorization: string | undefined,
  form: Record<string, string>,
): {
  clientId: string | undefined;
  clientSecret: string | undefined;
} {
  if (authorization?.startsWith("Basic ")) {
    try {
      const decoded = atob(authorization.slice(6).trim());
      const colon = decoded.indexOf(":");
      if (colon > 0) {
        const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
        return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
      }
    } catch {
      // A malformed Basic header counts as no client authentication, as with the real services.
    }
  }
  return { clientId: form.client_id, clientSecret: form.client_secret };
}

export function redirectTo(redirectUri: string, params: Record<string, string | undefined>): Response {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return new Response(null, { status: 302, headers: { Location: url.toString(), "Cache-Control": "no-store" } });
}

export function newCode(): string {
  return randomToken(32);
}

/**
 * Signs an ID token, unless the tamper API asked for this one to be wrong in one way: the app
 * must reject each of these, so tests can prove it validates every claim it relies on.
 */
export async function issueIdToken(issuer: Issuer, claims: Record<string, unknown>): Promise<string> {
  const kind = takeTamper();
  const token = { ...claims };
  const now = Math.floor(Date.now() / 1000);
  switch (kind) {
    case "aud":
      token.aud = "00000000-0000-0000-0000-00000000bad0";
      break;
    case "iss":
      token.iss = `${String(claims.iss)}-not-this-issuer`;
      break;
    case "tid":
      token.tid = crypto.randomUUID();
      break;
    case "expired":
      Object.assign(token, { iat: now - 7200, nbf: now - 7200, exp: now - 3600 });
      break;
    case "nonce":
      token.nonce = `tampered-${randomToken(8)}`;
      break;
    case "signature":
    case undefined:
      break;
  }
  return signJwt(issuer, token, kind === "signature");
}
