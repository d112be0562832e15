// What one sign-in callback costs: D1 round trips (D1 sessions included) and Graph round trips,
// measured through the real app with its D1 binding wrapped by a counter and the emulator's
// request counts. The OAuth round trip before the callback (authorize, code exchange, keys) is not
// counted: the identity provider is not Graph.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { buildApp } from "../../src/app.tsx";
import { TestBrowser } from "./browser.ts";
import { emulatorAdmin, emulatorStats } from "./emulator.ts";
import { countingD1, emptyD1Counter, type D1Counter } from "./d1Counter.ts";

const app = buildApp();
const IDENTITY_PROVIDER = new Set([
  "discovery",
  "keys",
  "authorize",
  "token",
  "google-discovery",
  "google-keys",
  "google-authorize",
  "google-token",
]);

export interface CallbackCost {
  status: number;
  d1: D1Counter;
  /** HTTP requests to Graph: a $batch is one, however many requests it carries. */
  graphRoundTrips: number;
  /** Requests Graph evaluated (each part of a batch counts). */
  graphRequests: number;
  wallMs: number;
  response: Response;
}

/** Starts a sign-in in `browser`, picks `account` at the emulator, and measures the callback alone. */
export async function measureCallback(
  provider: "microsoft" | "google",
  account: string,
  browser = new TestBrowser(),
): Promise<CallbackCost> {
  const start = await browser.get(`/auth/${provider}`);
  const back = await browser.authorizeAtEmulator(start, { account });
  const callback = back.headers.get("location")!;
  await emulatorAdmin("stats/reset");
  const d1 = emptyD1Counter();
  const ctx = createExecutionContext();
  const started = Date.now();
  const response = await app.fetch(
    new Request(callback, { headers: { cookie: browser.cookieHeader(), "cf-connecting-ip": browser.ip } }),
    { ...env, DB: countingD1(env.DB, d1) },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const wallMs = Date.now() - started;
  const stats = await emulatorStats();
  const graph = Object.entries(stats.requests).filter(([endpoint]) => !IDENTITY_PROVIDER.has(endpoint));
  const graphRequests = graph.filter(([endpoint]) => endpoint !== "batch").reduce((sum, [, n]) => sum + n, 0);
  const batched = Object.values(stats.batched ?? {}).reduce((sum, n) => sum + n, 0);
  const graphRoundTrips = graph.reduce((sum, [, n]) => sum + n, 0) - batched;
  return { status: response.status, d1, graphRoundTrips, graphRequests, wallMs, response };
}
