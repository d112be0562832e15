// The OAuth flow store: one pending round trip per browser. The secrets (state, nonce, PKCE
// verifier) go to D1 under the hash of a random handle; the handle goes to a short-lived
// __Host- cookie. The callback consumes the row, so a replayed callback finds nothing.
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppContext } from "../context.ts";
import { consumeAuthFlow, insertAuthFlow } from "../db/authFlows.ts";
import type { AuthFlowPurpose } from "../db/schema.ts";
import { randomToken, sha256Base64url } from "../lib/crypto.ts";
import { AppError } from "../lib/errors.ts";
import { OAuthFlowError, buildAuthorizationRequest, type OAuthProvider } from "./oauth.ts";

const FLOW_COOKIE = "__Host-uniasset_flow";
const FLOW_LIFETIME_MS = 10 * 60 * 1000;

interface FlowOptions {
  purpose: AuthFlowPurpose;
  organizationId?: string;
  userId?: string;
  /** connect_entra: the tenant named by the admin; the authority becomes tenant-specific. */
  tenantId?: string;
  /** setup_consent: the setup link in use. */
  setupLinkId?: string;
}

/** Starts an authorization-code round trip and returns the provider URL to redirect to. */
export async function startFlow(
  c: Context<AppContext>,
  options: FlowOptions & { provider: OAuthProvider; redirectUri: string; scope?: string },
): Promise<string> {
  let request;
  try {
    request = await buildAuthorizationRequest(options.provider, c.get("config"), options);
  } catch (error) {
    // The discovery document could not be read: Microsoft is unreachable, not a server error of ours.
    if (error instanceof OAuthFlowError) throw new AppError("provider_unavailable", "We couldn't reach the sign-in provider. Please try again in a few minutes.", { cause: error });
    throw error;
  }
  await saveFlow(c, options, { state: request.state, nonce: request.nonce, codeVerifier: request.codeVerifier });
  return request.url.toString();
}

/**
 * Stores a round trip's secrets and sets the browser's handle. Also used directly for Microsoft's
 * admin consent endpoint, which has a `state` but no code, nonce or verifier to keep.
 */
export async function saveFlow(
  c: Context<AppContext>,
  options: FlowOptions,
  secrets: { state: string; nonce: string; codeVerifier: string },
): Promise<void> {
  const handle = randomToken();
  await insertAuthFlow(c.get("db"), {
    idHash: await sha256Base64url(handle),
    purpose: options.purpose,
    ...secrets,
    organizationId: options.organizationId ?? null,
    userId: options.userId ?? null,
    tenantId: options.tenantId ?? null,
    setupLinkId: options.setupLinkId ?? null,
    expiresAt: Date.now() + FLOW_LIFETIME_MS,
  }).run();
  setCookie(c, FLOW_COOKIE, handle, {
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Lax",
    maxAge: FLOW_LIFETIME_MS / 1000,
  });
}

/** Consumes the browser's pending round trip: missing, expired or already used → refused. */
export async function takeFlow(c: Context<AppContext>, purpose: AuthFlowPurpose) {
  const handle = getCookie(c, FLOW_COOKIE);
  deleteCookie(c, FLOW_COOKIE, { path: "/", secure: true });
  const flow =
    handle && handle.length <= 128
      ? await consumeAuthFlow(c.get("db"), await sha256Base64url(handle), purpose, Date.now())
      : undefined;
  if (!flow) {
    throw new AppError(
      "sign_in_failed",
      "This sign-in link has expired or was already used, or it was started in another browser. Please start again.",
    );
  }
  return flow;
}
