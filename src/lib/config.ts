// Configuration read from the environment once per isolate and validated: a missing or malformed
// value stops the request with a clear log line instead of failing later in an OAuth round trip.
import { z } from "zod";

const httpUrl = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ""));

const configSchema = z.object({
  APP_ORIGIN: httpUrl,
  MS_AUTHORITY_HOST: httpUrl,
  GRAPH_BASE_URL: httpUrl,
  MS_CLIENT_ID: z.string().min(1),
  MS_CLIENT_SECRET: z.string().min(1),
  GOOGLE_ISSUER: httpUrl,
  GOOGLE_AUTHORIZATION_ENDPOINT: httpUrl,
  GOOGLE_TOKEN_ENDPOINT: httpUrl,
  GOOGLE_JWKS_URI: httpUrl,
  GOOGLE_CLIENT_ID: z.string().min(1),
  GOOGLE_CLIENT_SECRET: z.string().min(1),
  TOKEN_ENCRYPTION_KEYS: z.string().min(1),
  /** Audit events older than this many days are deleted nightly (at least 30, at most 10 years). */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(30).max(3650).default(400),
  /** The nightly runs start spread over this many minutes (0: all at once); under the 12 h a run may take. */
  SYNC_START_WINDOW_MINUTES: z.coerce.number().int().min(0).max(360).default(120),
  /**
   * The first wait, in ms, of the exponential backoff between retries of a Graph request that failed
   * without a Retry-After (src/entra/graph.ts): doubled each retry, capped at 8 s. 500 in production;
   * the workerd tests, which make Graph fail on purpose dozens of times, wait 20.
   */
  GRAPH_RETRY_BASE_MS: z.coerce.number().int().min(10).max(5_000).default(500),
  /**
   * How long, in ms, a real-time read waits for the rest of a burst of notifications before it reads
   * (src/entra/sync/workflow.ts). 2,000 in production; the workerd tests wait 500 and pace their
   * scripted bursts by the same quarter, so a burst still arrives as the same slices.
   */
  REALTIME_GATHER_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
});

export type Config = z.infer<typeof configSchema>;

const cache = new WeakMap<object, Config>();

/** Reads the entry point's `env`; typed as any object, since only the entry points see `Env` (README). */
export function loadConfig(env: object): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    // Names only: values may be secrets.
    const names = parsed.error.issues.map((issue) => issue.path.join(".")).join(", ");
    throw new Error(`invalid configuration: ${names}`);
  }
  cache.set(env, parsed.data);
  return parsed.data;
}

/** Plain http is allowed only for a loopback host (the local emulator), never for a real one. */
export function isLoopbackUrl(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === "http:" && (hostname === "localhost" || hostname === "127.0.0.1" || hostname === "[::1]");
}
