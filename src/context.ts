// The Hono environment every route shares: what middleware puts on the context, among them the
// Viewer (who is looking), which the auth middleware, services and views all name. No Bindings:
// only the entry points see Env (src/app.tsx hands each binding a route needs down as a variable).
import type { Config } from "./lib/config.ts";
import type { Db } from "./db/client.ts";
import type { DeliveryMessage } from "./db/webhooks.ts";
import type { SyncRunParams } from "./db/syncRuns.ts";
import type { ImportParams } from "./db/directoryImports.ts";
import type { Plan, Role } from "./db/schema.ts";

export interface AppContext {
  Bindings: object;
  Variables: {
    /** This request's D1 session: GET pages may read from a replica (src/app.tsx). */
    db: Db;
    /** A fresh D1 session whose reads go to the primary, for reading again after a stale read. */
    primaryDb: () => Db;
    /** The rate limit in front of sign-in starts and callbacks (wrangler.toml [[ratelimits]]). */
    signInLimiter: RateLimit;
    /** The rate limit of SCIM requests, per bearer token (wrangler.toml [[ratelimits]] SCIM_LIMITER). */
    scimLimiter: RateLimit;
    /** Starts directory sync runs (Sync now, Preview, Apply, real-time reads). */
    syncWorkflow: Workflow<SyncRunParams>;
    /** Starts Import's previews and applies (src/entra/import/workflow.ts). */
    importWorkflow: Workflow<ImportParams>;
    /** The event webhooks' delivery queue (the relay puts outbox rows on it). */
    webhookDeliveries: Queue<DeliveryMessage>;
    config: Config;
    /** The signed-in member in the session's organization; null when signed out. */
    viewer: Viewer | null;
    /** The rules of the sub-app whose route matched (src/routes/mount.ts); unset: no route matched. */
    rules?: RouteRules;
  };
}

/**
 * What the shared middleware of src/app.tsx does for a request, declared where app.tsx mounts
 * each sub-app. The safe rules are the default: `{ reads: "replica", session: "load", caller: "browser" }`.
 */
export interface RouteRules {
  /**
   * "replica": GET pages may read from a D1 replica (a state change always starts on the primary);
   * "primary": every read goes to the primary, for a GET whose reads decide what it writes.
   */
  reads: "replica" | "primary";
  /** "load": the session cookie is read and the viewer set; "none": it is never read (viewer null). */
  session: "load" | "none";
  /**
   * "browser": a state change needs our Origin and the session's CSRF token, the body is at most
   * 64 KB, errors are pages, and outbox rows are relayed after a successful POST. "machine": a
   * caller without a browser (Microsoft Graph), which the route authenticates itself and limits
   * with its own body limit; no session is read, no CSRF check, no page, no relay.
   */
  caller: "browser" | "machine";
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
