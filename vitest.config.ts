// Tests run inside workerd with the app as the Worker under test and real local D1.
// The Entra/Google emulator runs beside it as an auxiliary Worker, and every outbound fetch the
// app makes is routed to it (outboundService): an unexpected host gets the emulator's 404 and
// fails the test, so nothing ever leaves the machine. `npm run bench` instead starts the emulator
// in its own process (scripts/bench.ts, BENCH_EMULATOR_PORT) and routes the same traffic there, so
// the workerd process whose memory it samples holds the app, its D1 and Workflows, not Graph's side.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { build } from "esbuild";
import { defineConfig, mergeConfig, type ViteUserConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

const EMULATOR_BUNDLE = ".build/emulator/index.js";
const COMPATIBILITY_DATE = "2026-11-01";
const APP_UNDER_TEST = "vitest-plugin-runner-";

export const TEST_VARS = {
  APP_ORIGIN: "http://localhost:8787",
  MS_AUTHORITY_HOST: "http://localhost:8788",
  GRAPH_BASE_URL: "http://localhost:8788",
  MS_CLIENT_ID: "0d7f2c1a-5e6b-4c3d-9a8b-7e6f5d4c3b2a",
  MS_CLIENT_SECRET: process.env.BENCH_MS_CLIENT_SECRET ?? `test-ms-secret-${randomBytes(12).toString("hex")}`,
  GOOGLE_ISSUER: "http://localhost:8788/google",
  GOOGLE_AUTHORIZATION_ENDPOINT: "http://localhost:8788/google/o/oauth2/v2/auth",
  GOOGLE_TOKEN_ENDPOINT: "http://localhost:8788/google/token",
  GOOGLE_JWKS_URI: "http://localhost:8788/google/oauth2/v3/certs",
  GOOGLE_CLIENT_ID: "uniasset-test.apps.googleusercontent.example",
  GOOGLE_CLIENT_SECRET: process.env.BENCH_GOOGLE_CLIENT_SECRET ?? `test-google-secret-${randomBytes(12).toString("hex")}`,
  TOKEN_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString("base64")}`,
};

/** Hands a request to the emulator listening on `port` (from Node, outside workerd), unchanged but for the address. */
function forwardTo(port: number) {
  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    url.protocol = "http:";
    url.host = `127.0.0.1:${port}`;
    const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
    return await fetch(url, { method: request.method, headers: request.headers, body, redirect: "manual" });
  };
}

/**
 * The Worker under test, its bindings and the emulator beside it: what the tests and the benchmarks
 * (vitest.bench.config.ts) share. `queueConsumers` replaces wrangler.toml's, queue by queue.
 */
export async function workersConfig(
  queueConsumers: Record<string, QueueConsumer> = {},
  bindings: Record<string, string> = {},
): Promise<ViteUserConfig> {
  await build({
    entryPoints: ["emulator/src/index.ts"],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    outfile: EMULATOR_BUNDLE,
    // The Durable Object base class comes from the runtime.
    external: ["cloudflare:*"],
    logLevel: "warning",
  });
  const migrations = await readD1Migrations("migrations");
  const benchEmulatorPort = process.env.BENCH_EMULATOR_PORT;
  const emulator = benchEmulatorPort ? forwardTo(Number(benchEmulatorPort)) : "emulator";
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: { ...TEST_VARS, ...bindings, TEST_MIGRATIONS: migrations },
          outboundService: emulator,
          serviceBindings: { EMULATOR: emulator },
          queueConsumers,
          workers: benchEmulatorPort
            ? []
            : [
                {
                  name: "emulator",
                  modules: true,
                  scriptPath: EMULATOR_BUNDLE,
                  compatibilityDate: COMPATIBILITY_DATE,
                  // Change notifications (emulator/src/subscriptions.ts): the emulator POSTs to the app under
                  // test through this binding. The plugin names the Worker under test
                  // "vitest-plugin-runner-<project name>", and this project has no name.
                  serviceBindings: { APP: APP_UNDER_TEST },
                  durableObjects: { EMULATOR_STATE: { className: "EmulatorState", useSQLite: true } },
                  bindings: {
                    EMULATOR_ORIGIN: "http://localhost:8788",
                    APP_ORIGIN: TEST_VARS.APP_ORIGIN,
                    MS_CLIENT_ID: TEST_VARS.MS_CLIENT_ID,
                    MS_CLIENT_SECRET: TEST_VARS.MS_CLIENT_SECRET,
                    GOOGLE_CLIENT_ID: TEST_VARS.GOOGLE_CLIENT_ID,
                    GOOGLE_CLIENT_SECRET: TEST_VARS.GOOGLE_CLIENT_SECRET,
                  },
                },
              ],
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
      exclude: ["test/e2e/**", "test/node/**"],
      setupFiles: ["./test/setup.ts"],
    },
  };
}

/**
 * Local D1, Workflows and Durable Objects are SQLite files in Miniflare's temporary directory, and
 * every commit is an fsync: about 2 ms each on this machine's disk, a third of the sync suites'
 * time. Linux's /dev/shm is memory, where an fsync costs nothing, and the files are thrown away
 * after the run anyway. Not for the benchmarks, whose figures are the disk's.
 */
function keepLocalStorageInMemory() {
  if (!process.env.TMPDIR && existsSync("/dev/shm")) process.env.TMPDIR = "/dev/shm";
}

type QueueConsumer = {
  maxBatchSize?: number;
  maxBatchTimeout?: number;
  maxRetries?: number;
  deadLetterQueue?: string;
  retryDelay?: number;
};

/**
 * wrangler.toml's queue consumers without their batch window: the local queue hands a message to
 * the consumer at once instead of waiting up to max_batch_timeout (1 s) for more to fill a batch.
 * A webhook delivery then takes milliseconds, not a second, in every test that waits for one; no
 * test is about the window (the consumer's handling of a batch is tested with batches it is given).
 */
function queueConsumersWithoutBatchWindow(): Record<string, QueueConsumer> {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(unstable_readConfig({ config: "wrangler.toml" }));
  const consumers = (workerOptions.queueConsumers ?? {}) as Record<string, QueueConsumer>;
  return Object.fromEntries(Object.entries(consumers).map(([queue, consumer]) => [queue, { ...consumer, maxBatchTimeout: 0 }]));
}

/**
 * The files that take longest, in the order that keeps both cores busy. Some mostly wait (marked
 * "waits", with their time alone and their CPU: Workflow steps, people disabled a pace apart, a
 * slow Graph page, a slow webhook receiver), the others mostly use the CPU. A file goes to the
 * first of the three workers that is free: the waiting files start beside CPU-heavy ones, and none
 * of the long ones comes last, where it would run alone. The order was found by simulating the run
 * from each file's time and CPU with one worker (`--maxWorkers=1`). In a real run the first three
 * waiting files still overlap for a few seconds; an order that hands them out strictly one after
 * another measured no faster (70–84 s either way, runs taking turns), so this one stays. A hint for speed only: a file not listed,
 * or listed in the wrong place, changes how long the run takes, not what it checks.
 */
const LONGEST_FILES = [
  "test/events/delivery.test.ts", // waits: 9 s, 1 s of CPU (a receiver answering after 5 s)
  "test/directoryAlerts.test.ts",
  "test/realtime/races.test.ts", // waits: 10 s, 2 s of CPU
  "test/realtime/thresholdLongBurst.test.ts", // waits: 13 s, 3 s of CPU
  "test/bulkImport.test.ts",
  "test/events/settings.test.ts",
  "test/sync/page.test.ts",
  "test/nightly/fanout.test.ts",
  "test/sync/held.test.ts", // waits: 6 s, 3 s of CPU
  "test/realtime/notifications.test.ts", // waits: 7 s, 3.5 s of CPU
  "test/realtime/threshold.test.ts", // waits: 4 s, 1 s of CPU
  "test/scope.test.ts",
  "test/realtime/lifecycle.test.ts",
  "test/importRecovery.test.ts", // waits: 5 s, 1 s of CPU
  "test/sync/scopeLeavers.test.ts",
  "test/sync/mappingEdits.test.ts",
  "test/sync/newPeople.test.ts",
  "test/importPause.test.ts",
  "test/nightly/nightly.test.ts",
  "test/groupMappingSignIn.test.ts",
  "test/scopeAtScale.test.ts", // waits: 6 s, 3.5 s of CPU
  "test/sync/safety.test.ts",
  "test/mappingEditor.test.ts",
  "test/sync/joiners.test.ts",
  "test/sync/profiles.test.ts",
  "test/setupLink.test.ts",
  "test/syncPause.test.ts",
  "test/importAtScale.test.ts", // waits: 4 s, 2 s of CPU
  "test/realtime/deltaReadRaces.test.ts", // waits: 11 s, 2.5 s of CPU
  "test/sync/movers.test.ts",
];

/** The listed files first; the rest as vitest orders them (the last run's durations, or size on a fresh clone). */
class LongestFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const at = LONGEST_FILES.findIndex((file) => spec.moduleId.endsWith(`/${file}`));
      return at < 0 ? LONGEST_FILES.length : at;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

/**
 * Dozens of tests make Graph fail on purpose past the Graph client's retries (a 500, a dropped
 * connection); with production's backoff (0.5 s, 1 s, 2 s…) each such read sleeps 2–4 s, some 14 s
 * of the suite's waiting in all. The retries and their count are the same at 20 ms; a Retry-After
 * Graph sends is still waited out as sent. Not for the benchmarks, whose figures are production's.
 */
const SHORT_GRAPH_RETRIES = { GRAPH_RETRY_BASE_MS: "20" };

/**
 * A real-time read waits 2 s for the rest of a burst of notifications before it reads; here 500 ms.
 * The tests of bursts, races and the threshold pace their scripts by this wait (GATHER_MS,
 * test/realtime/support.ts: people disabled an eighth of it apart), so a burst arrives as the same
 * slices as in production in a quarter of the time: 150 people disabled took 38 s of sleeping, now
 * 9 s. Not for the benchmarks, whose latency figures are production's.
 */
const SHORT_BURST_WAIT = { REALTIME_GATHER_MS: "500" };

// `npm test`'s workerd suite.
export default defineConfig(async () => {
  keepLocalStorageInMemory();
  return mergeConfig(await workersConfig(queueConsumersWithoutBatchWindow(), { ...SHORT_GRAPH_RETRIES, ...SHORT_BURST_WAIT }), {
    test: {
      // One workerd process per vitest worker, reused by the files it runs, instead of one per file:
      // starting workerd and evaluating the app cost about 3 s a file, more than most files' tests.
      // test/setup.ts gives every file the clean state a new process would.
      isolate: false,
      // Three workers on two cores: some files mostly wait (paced scripts, Workflow sleeps, slow
      // Graph pages), and another worker runs meanwhile. Each worker is a workerd process of its own
      // (about 4 s of CPU to start), so more of them only add CPU once the cores are busy. Measured
      // on this 2-core machine, the whole `npm test`, runs taking turns: 3 workers 85.4 s and 84.9 s
      // (151 s of CPU), 4 workers 93.3 s, 82.3 s and 84.4 s (160–180 s), 5 workers 97.1 s and 90.4 s
      // (176–188 s). Five were faster while the real-time files waited 2 s for every burst
      // (SHORT_BURST_WAIT, above).
      maxWorkers: Math.round(1.5 * availableParallelism()),
      // A test's time now depends on what the other worker runs beside it; timeouts are for tests
      // that hang, not a speed check (the tests that promise a speed assert it themselves).
      testTimeout: 20_000,
      sequence: { sequencer: LongestFilesFirst },
      // zod and drizzle-orm are some 250 small modules that the plugin has Vite transform one by one
      // and each worker evaluates; bundled once by esbuild they are five. Hono stays as it is: its
      // JSX runtime is never pre-bundled, and two copies of its JSX would not mix.
      deps: { optimizer: { ssr: { enabled: true, include: ["zod", "drizzle-orm", "drizzle-orm/d1", "drizzle-orm/sqlite-core"] } } },
    },
  });
});
