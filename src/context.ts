// The Hono environment every route shares: bindings plus what middleware puts on the context,
// among them the Viewer (who is looking), which the auth middleware, services and views all name.
import type { Config } from "./lib/config.ts";
import type { Db } from "./db/client.ts";
import type { Env } from "./env.ts";
import type { Plan, Role } from "./db/schema.ts";

export interface AppContext {
  Bindings: Env;
  Variables: {
    /** This request's D1 session: GET pages may read from a replica (src/app.tsx). */
    db: Db;
    /** A fresh D1 session whose reads go to the primary, for reading again after a stale read. */
    primaryDb: () => Db;
    /** The rate limit in front of sign-in starts and callbacks (wrangler.toml [[ratelimits]]). */
    signInLimiter: RateLimit;
    config: Config;
    /** The signed-in member in the session's organization; null when signed out. */
    viewer: Viewer | null;
  };
}

export interface Viewer {
  userId: string;
  displayName: string;
  email: string | null;
  organizationId: string;
  organizationName: string;
  plan: Plan;
  role: Role;
  /** Every organization the user is an active member of, for the switcher. */
  organizations: { id: string; name: string }[];
  sessionHash: string;
  /** Derived from the session token; required on every state-changing request. */
  csrfToken: string;
}
