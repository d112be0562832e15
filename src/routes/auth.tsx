// Sign-in with Microsoft or Google, and sign-out. Thin: parse → auth services → redirect or page.
import { Hono, type Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { OAuthFlowError, buildAuthorizationRequest, completeAuthorization, type OAuthProvider } from "../auth/oauth.ts";
import { personFromClaims } from "../auth/person.ts";
import { clearSessionCookie, currentSessionHash, setSessionCookie } from "../auth/session.ts";
import { signIn } from "../auth/signIn.ts";
import type { AppContext } from "../context.ts";
import { consumeAuthFlow, insertAuthFlow } from "../db/authFlows.ts";
import type { AuthFlowPurpose } from "../db/schema.ts";
import { deleteSession } from "../db/sessions.ts";
import { randomToken, sha256Base64url } from "../lib/crypto.ts";
import { AppError } from "../lib/errors.ts";
import { validate } from "../lib/validate.ts";
import { SignInPage } from "../../views/pages/signIn.tsx";

export const FLOW_COOKIE = "__Host-uniasset_flow";
const FLOW_LIFETIME_MS = 10 * 60 * 1000;

const providerParam = z.object({ provider: z.enum(["microsoft", "google"], { message: "Unknown sign-in provider." }) });

const PURPOSE: Record<OAuthProvider, AuthFlowPurpose> = {
  microsoft: "sign_in_microsoft",
  google: "sign_in_google",
};

export const authRoutes = new Hono<AppContext>();

authRoutes.get("/sign-in", (c) => {
  if (c.get("viewer")) return c.redirect("/", 302);
  return c.render(<SignInPage />, { title: "Sign in" });
});

authRoutes.get("/auth/:provider", validate("param", providerParam), async (c) => {
  const { provider } = c.req.valid("param");
  const location = await startFlow(c, { purpose: PURPOSE[provider], provider, redirectUri: callbackUri(c, provider) });
  return c.redirect(location, 302);
});

authRoutes.get("/auth/:provider/callback", validate("param", providerParam), async (c) => {
  const { provider } = c.req.valid("param");
  const flow = await takeFlow(c, PURPOSE[provider]);
  let completed;
  try {
    completed = await completeAuthorization(provider, c.get("config"), new URL(c.req.url), {
      ...flow,
      redirectUri: callbackUri(c, provider),
    });
  } catch (error) {
    throw signInFailure(error);
  }
  const person = personFromClaims(provider, completed.claims);
  if (!person.ok) throw new AppError("sign_in_failed", "The sign-in response is missing required details. Please start again.");
  const db = c.get("db");
  const previousSession = await currentSessionHash(c);
  const result = await signIn(db, c.get("config"), person.value, Date.now());
  // Rotation: the session that existed before sign-in (if any) ends now.
  if (previousSession) await deleteSession(db, previousSession).run();
  setSessionCookie(c, result.sessionToken);
  return c.redirect("/", 302);
});

authRoutes.post("/sign-out", async (c) => {
  const viewer = c.get("viewer");
  if (viewer) await deleteSession(c.get("db"), viewer.sessionHash).run();
  clearSessionCookie(c);
  return c.redirect("/sign-in", 302);
});

function callbackUri(c: Context<AppContext>, provider: OAuthProvider): string {
  return `${c.get("config").APP_ORIGIN}/auth/${provider}/callback`;
}

/** Starts an OAuth round trip: the secrets go to D1, a random handle to a short-lived cookie. */
export async function startFlow(
  c: Context<AppContext>,
  options: { purpose: AuthFlowPurpose; provider: OAuthProvider; redirectUri: string; scope?: string; organizationId?: string; userId?: string },
): Promise<string> {
  const request = await buildAuthorizationRequest(options.provider, c.get("config"), options);
  const handle = randomToken();
  await insertAuthFlow(c.get("db"), {
    idHash: await sha256Base64url(handle),
    purpose: options.purpose,
    state: request.state,
    nonce: request.nonce,
    codeVerifier: request.codeVerifier,
    organizationId: options.organizationId ?? null,
    userId: options.userId ?? null,
    expiresAt: Date.now() + FLOW_LIFETIME_MS,
  }).run();
  setCookie(c, FLOW_COOKIE, handle, {
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Lax",
    maxAge: FLOW_LIFETIME_MS / 1000,
  });
  return request.url.toString();
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

function signInFailure(error: unknown): AppError {
  if (!(error instanceof OAuthFlowError)) throw error;
  switch (error.kind) {
    case "cancelled":
      return new AppError("sign_in_failed", "Sign-in was cancelled. You can try again whenever you're ready.");
    case "provider_unavailable":
      return new AppError("provider_unavailable", "We couldn't reach the sign-in provider. Please try again in a few minutes.");
    case "state_mismatch":
      return new AppError("sign_in_failed", "This sign-in response doesn't match the sign-in you started. Please start again.");
    case "code_rejected":
      return new AppError("sign_in_failed", "The sign-in code was refused (it may have been used already). Please start again.");
    case "invalid_id_token":
      return new AppError("sign_in_failed", "The sign-in response could not be verified. Please start again.");
    default:
      return new AppError("sign_in_failed", "The sign-in provider reported a problem. Please try again.");
  }
}
