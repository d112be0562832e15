// The rate limit in front of sign-in starts and callbacks: Cloudflare's rate limiting binding,
// keyed by the client's IP (CF-Connecting-IP, set by Cloudflare; a client cannot forge it) and
// the path, so a burst against one provider's callback doesn't lock out the other. A limited
// request gets a 429 page before anything else runs: no D1, no provider, no Graph.
import type { MiddlewareHandler } from "hono";
import type { AppContext } from "../context.ts";
import { AppError } from "../lib/errors.ts";

/** The binding's window (wrangler.toml [[ratelimits]] simple.period); only 10 and 60 exist. */
const PERIOD_SECONDS = 60;

export function signInRateLimit(): MiddlewareHandler<AppContext> {
  return async function limitSignIn(c, next) {
    const ip = c.req.header("CF-Connecting-IP") ?? "unknown";
    const { success } = await c.get("signInLimiter").limit({ key: `${ip.slice(0, 64)} ${c.req.path.slice(0, 64)}` });
    if (!success) {
      c.header("Retry-After", String(PERIOD_SECONDS));
      throw new AppError(
        "rate_limited",
        "There have been too many sign-in attempts from your network. Please wait a minute and try again.",
      );
    }
    await next();
  };
}
