// The Worker's bindings, typed once. Values come from wrangler.toml [vars], secrets
// (`wrangler secret put`), and locally from .dev.vars, which `npm start` generates.
import type { NightlyParams, SyncRunParams } from "./db/syncRuns.ts";
import type { DeliveryMessage } from "./db/webhooks.ts";
import type { ImportParams } from "./db/directoryImports.ts";

export interface Env {
  /** D1: organizations, users, identities, sessions, Entra connections, sync runs, audit log. */
  DB: D1Database;
  /** The app's public origin; OAuth redirect URIs are built from it, never from the Host header. */
  APP_ORIGIN: string;
  /** Microsoft identity platform host, e.g. https://login.microsoftonline.com (or a national cloud). */
  MS_AUTHORITY_HOST: string;
  /** Microsoft Graph host, e.g. https://graph.microsoft.com. */
  GRAPH_BASE_URL: string;
  /** Application (client) id of the multi-tenant Entra app registration. */
  MS_CLIENT_ID: string;
  /** Secret: client secret of that registration. */
  MS_CLIENT_SECRET: string;
  /** Google's issuer and endpoints (configuration, so the emulator can stand in). */
  GOOGLE_ISSUER: string;
  GOOGLE_AUTHORIZATION_ENDPOINT: string;
  GOOGLE_TOKEN_ENDPOINT: string;
  GOOGLE_JWKS_URI: string;
  /** Google OAuth client id. */
  GOOGLE_CLIENT_ID: string;
  /** Secret: Google OAuth client secret. */
  GOOGLE_CLIENT_SECRET: string;
  /** Secret: token vault keys, `id:base64key[,id:base64key…]`; the first encrypts, all decrypt. */
  TOKEN_ENCRYPTION_KEYS: string;
  /** Rate limiting: sign-in starts and callbacks, per client IP and path (src/auth/rateLimit.ts). */
  SIGN_IN_LIMITER: RateLimit;
  /** Rate limiting: SCIM requests, per bearer token (src/routes/scim.ts). */
  SCIM_LIMITER: RateLimit;
  /** Workflow: one directory sync run per instance (src/entra/sync/workflow.ts), one step per Graph page. */
  SYNC_WORKFLOW: Workflow<SyncRunParams>;
  /** Workflow: the nightly fan-out and housekeeping, one instance per cron event (src/nightly/workflow.ts). */
  NIGHTLY_WORKFLOW: Workflow<NightlyParams>;
  /** Workflow: one Import preview or apply per instance (src/entra/import/workflow.ts), one step per Graph page. */
  IMPORT_WORKFLOW: Workflow<ImportParams>;
  /** Queue: event webhook deliveries, one message per event and endpoint (src/events/consumer.ts). */
  WEBHOOK_DELIVERIES: Queue<DeliveryMessage>;
  /** Days audit events are kept (default 400). */
  AUDIT_RETENTION_DAYS?: string;
  /** Minutes over which the nightly runs' starts are spread (default 120). */
  SYNC_START_WINDOW_MINUTES?: string;
  /** The first wait (ms) of Graph's retry backoff (default 500). */
  GRAPH_RETRY_BASE_MS?: string;
  /** How long (ms) a real-time read waits for the rest of a burst (default 2000). */
  REALTIME_GATHER_MS?: string;
}
