// Sign-in with Microsoft or Google, and sign-out. Thin: parse → auth services → redirect or page.
// Two sub-apps, because their request rules differ (app.tsx mounts each with its own): the sign-in
// page and sign-out read the session; a provider's round trip never does.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { expiredOrUsed, flowWasUsed, startFlow, takeFlow } from "../auth/flows.ts";
import { signInRateLimit } from "../auth/rateLimit.ts";
import { OAuthFlowError, completeAuthorization, type OAuthProvider } from "../auth/oauth.ts";
import { personFromClaims } from "../signin/person.ts";
import { signInRefusal } from "../signin/signInErrors.ts";
import { clearSessionCookie, currentSessionHash, setSessionCookie } from "../auth/session.ts";
import { signIn } from "../signin/signIn.ts";
import { relayAfterCommit } from "../events/afterCommit.ts";
import type { AppContext } from "../context.ts";
import type { AuthFlowPurpose } from "../db/schema.ts";
import { deleteSession } from "../db/sessions.ts";
import { AppError } from "../lib/errors.ts";
import { validate } from "../lib/validate.ts";
import { PATHS, signInCallbackPath } from "../paths.ts";
import { SignInPage } from "../../views/pages/signIn.tsx";

const providerParam = z.object({ provider: z.enum(["microsoft", "google"], { message: "Unknown sign-in provider." }) });

const PURPOSE: Record<OAuthProvider, AuthFlowPurpose> = {
  microsoft: "sign_in_microsoft",
  google: "sign_in_google",
};

/** Mounted at PATHS.home: the sign-in page and sign-out, at their own paths. */
export const authRoutes = new Hono<AppContext>();

/** Mounted at PATHS.signInWith: a provider's round trip, `/<provider>` and `/<provider>/callback`. */
export const signInRoutes = new Hono<AppContext>();

authRoutes.get(PATHS.signIn, (c) => {
  if (c.get("viewer")) return c.redirect(PATHS.home, 302);
  return c.render(<SignInPage />, { title: "Sign in" });
});

// Starting writes nothing (the round trip lives in a sealed cookie); both steps are rate limited.
signInRoutes.get("/:provider", signInRateLimit(), validate("param", providerParam), async (c) => {
  const { provider } = c.req.valid("param");
  const location = await startFlow(c, { purpose: PURPOSE[provider], provider, redirectUri: callbackUri(c, provider) });
  return c.redirect(location, 302);
});

signInRoutes.get("/:provider/callback", signInRateLimit(), validate("param", providerParam), async (c) => {
  const { provider } = c.req.valid("param");
  const flow = await takeFlow(c, PURPOSE[provider]);
  let completed;
  try {
    completed = await completeAuthorization(provider, c.get("config"), new URL(c.req.url), {
      ...flow,
      redirectUri: callbackUri(c, provider),
    });
  } catch (error) {
    // The provider refused the code: if this round trip already completed, say that (read from
    // the primary: a replica may not have the write yet). Only on this failure path.
    if (error instanceof OAuthFlowError && error.kind === "code_rejected" && (await flowWasUsed(c.get("primaryDb")(), flow))) {
      throw expiredOrUsed();
    }
    throw signInRefusal(error);
  }
  const person = personFromClaims(provider, completed.claims);
  if (!person.ok) throw new AppError("sign_in_failed", "The sign-in response is missing required details. Please start again.");
  const db = c.get("db");
  const previousSession = await currentSessionHash(c);
  const result = await signIn(db, c.get("config"), person.value, Date.now(), {
    flow,
    // Rotation: the session that existed before sign-in (if any) ends in the same write.
    writes: previousSession ? [deleteSession(db, previousSession)] : [],
    primary: c.get("primaryDb"),
  });
  setSessionCookie(c, result.sessionToken);
  // The callback keeps to its two D1 round trips: a queue message asks the consumer to relay.
  if (result.mayRaiseEvents) waitUntil(c, relayAfterCommit(c.get("webhookDeliveries"), "on the queue"));
  return c.redirect(PATHS.home, 302);
});

authRoutes.post(PATHS.signOut, async (c) => {
  const viewer = c.get("viewer");
  if (viewer) await deleteSession(c.get("db"), viewer.sessionHash).run();
  clearSessionCookie(c);
  return c.redirect(PATHS.signIn, 302);
});

/** After the response; a request without an execution context (app.request in tests) just awaits nothing. */
function waitUntil(c: Context<AppContext>, work: Promise<unknown>) {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    void work;
  }
}

function callbackUri(c: Context<AppContext>, provider: OAuthProvider): string {
  return `${c.get("config").APP_ORIGIN}${signInCallbackPath(provider)}`;
}
