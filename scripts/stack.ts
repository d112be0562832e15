// The one way to run the local stack: the app Worker and the Entra/Google emulator Worker under
// `wrangler dev`, with local D1 migrated and seeded. `npm start` (scripts/dev.ts) and the browser
// tests (test/e2e/harness.ts) both call it; they differ only in ports, state directory, secrets
// and where the logs go.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, relative } from "node:path";
import { createInterface } from "node:readline";
import { demoSeedStatements } from "../demo/seed.ts";
import { ROOT } from "./paths.ts";

const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const EMULATOR_CONFIG = "emulator/wrangler.toml";
const SEED_FILE = join(ROOT, ".wrangler", "demo-seed.sql");

/** Secrets the app reads; the emulator shares the four client values. */
export interface StackSecrets {
  MS_CLIENT_ID: string;
  MS_CLIENT_SECRET: string;
  GOOGLE_CLIENT_ID: string;
  GOOGLE_CLIENT_SECRET: string;
  TOKEN_ENCRYPTION_KEYS: string;
}
export const SECRET_NAMES = [
  "MS_CLIENT_ID",
  "MS_CLIENT_SECRET",
  "GOOGLE_CLIENT_ID",
  "GOOGLE_CLIENT_SECRET",
  "TOKEN_ENCRYPTION_KEYS",
] as const satisfies readonly (keyof StackSecrets)[];
const CLIENT_SECRET_NAMES = ["MS_CLIENT_ID", "MS_CLIENT_SECRET", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"] as const;

/** Fresh random values, shaped like the real ones so format checks in the app still apply. */
export function generateSecrets(): StackSecrets {
  return {
    MS_CLIENT_ID: randomUUID(),
    MS_CLIENT_SECRET: randomBytes(30).toString("base64url"),
    GOOGLE_CLIENT_ID: `${randomBytes(16).toString("hex")}.apps.googleusercontent.example`,
    GOOGLE_CLIENT_SECRET: `GOCSPX-${randomBytes(21).toString("base64url")}`,
    TOKEN_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString("base64")}`,
  };
}

/** The emulator plays Microsoft's and Google's side, so it knows the same client credentials. */
export function emulatorSecrets(secrets: StackSecrets): Record<string, string> {
  return Object.fromEntries(CLIENT_SECRET_NAMES.map((name) => [name, secrets[name]]));
}

/** Minimal dotenv: KEY=VALUE lines, # comments, optional surrounding quotes. */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    let value = match[2] ?? "";
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2] ?? "";
    values[match[1] ?? ""] = value;
  }
  return values;
}

export function formatEnvFile(header: string, values: Record<string, string>): string {
  const comments = header.split("\n").map((line) => `# ${line}`.trimEnd());
  return [...comments, ...Object.entries(values).map(([key, value]) => `${key}=${value}`), ""].join("\n");
}

/** Writes a secrets file readable only by its owner. */
export function writeSecretsFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
}

/** Non-secret configuration: point the app at the emulator instead of Microsoft and Google. */
export function appVars(port: number, emulatorPort: number): Record<string, string> {
  const emulator = `http://localhost:${emulatorPort}`;
  return {
    APP_ORIGIN: `http://localhost:${port}`,
    MS_AUTHORITY_HOST: emulator,
    GRAPH_BASE_URL: emulator,
    GOOGLE_ISSUER: `${emulator}/google`,
    GOOGLE_AUTHORIZATION_ENDPOINT: `${emulator}/google/o/oauth2/v2/auth`,
    GOOGLE_TOKEN_ENDPOINT: `${emulator}/google/token`,
    GOOGLE_JWKS_URI: `${emulator}/google/oauth2/v3/certs`,
  };
}

export function emulatorVars(port: number, emulatorPort: number): Record<string, string> {
  return { EMULATOR_ORIGIN: `http://localhost:${emulatorPort}`, APP_ORIGIN: `http://localhost:${port}` };
}

function varFlags(vars: Record<string, string>): string[] {
  return Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]);
}

function wranglerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // Nothing here may depend on reaching Cloudflare: no telemetry, and no download of the
  // `request.cf` sample (miniflare would warn with a stack trace on every start, then use a
  // placeholder anyway).
  return { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...extra };
}

/** An expected failure with a message for people; `details` holds the output that explains it. */
export class StackError extends Error {
  readonly details: string | undefined;
  constructor(message: string, details?: string) {
    super(message);
    this.details = details;
  }
}

/** Runs a short wrangler command to completion, output captured; throws with the output on failure. */
function runWrangler(args: string[], what: string): string {
  const result = spawnSync(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    // CI=1: `d1 migrations apply` must not stop to ask for confirmation.
    env: wranglerEnv({ CI: "1" }),
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new StackError(`${what}: could not run wrangler: ${result.error.message}`);
  if (result.status !== 0) {
    throw new StackError(`${what} failed (wrangler ${args.join(" ")}):\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

export interface DatabaseReport {
  /** Migration files applied by this run (empty when the schema was already current). */
  migrationsApplied: string[];
  /** Rows the demo seed inserted: 0 on every run after the first. */
  seedRowsWritten: number;
}

/**
 * Applies migrations/ to local D1 and loads the demo world (demo/seed.ts, INSERT OR IGNORE).
 * `persistTo` selects the state directory; wrangler's default (.wrangler/state) when absent.
 */
export function prepareDatabase(persistTo?: string): DatabaseReport {
  const persist = persistTo ? ["--persist-to", persistTo] : [];
  const migrationOutput = runWrangler(["d1", "migrations", "apply", "DB", "--local", ...persist], "Applying D1 migrations");
  // Wrangler reprints the whole table after each file; a name counts once.
  const migrationsApplied = [...new Set([...migrationOutput.matchAll(/│\s*(\S+\.sql)\s*│\s*✅/g)].map((m) => m[1] ?? ""))];

  mkdirSync(join(ROOT, ".wrangler"), { recursive: true });
  // total_changes() at the end reports what the seed wrote, which proves a re-run is a no-op.
  const sql = [...demoSeedStatements(), "SELECT total_changes() AS rows_written;", ""].join("\n");
  writeFileSync(SEED_FILE, sql);
  const seedOutput = runWrangler(
    ["d1", "execute", "DB", "--local", ...persist, "--file", relative(ROOT, SEED_FILE), "--json"],
    "Loading the demo seed",
  );
  let seedRowsWritten = Number.NaN;
  try {
    const results = JSON.parse(seedOutput) as { results?: { rows_written?: number }[] }[];
    seedRowsWritten = Number(results.at(-1)?.results?.[0]?.rows_written);
  } catch {
    // Unknown output shape: the seed still ran; report the count as unknown.
  }
  return { migrationsApplied, seedRowsWritten };
}

async function portIsFree(port: number, host: string): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      // No IPv6 on this machine: that host cannot conflict.
      resolve(error.code === "EAFNOSUPPORT" || error.code === "EADDRNOTAVAIL");
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `preferred` when it is free, otherwise any free port the kernel hands out. */
export async function freePort(preferred?: number): Promise<number> {
  if (preferred !== undefined && (await portIsFree(preferred, "127.0.0.1")) && (await portIsFree(preferred, "::1"))) {
    return preferred;
  }
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1" }, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Fails with a message naming the busy port and how to pick others. */
export async function assertPortsFree(ports: Record<string, number>, hint: string): Promise<void> {
  for (const [name, port] of Object.entries(ports)) {
    const free = (await portIsFree(port, "127.0.0.1")) && (await portIsFree(port, "::1"));
    if (!free) throw new StackError(`Port ${port} (${name}) is already in use. ${hint}`);
  }
}

export type StackSource = "app" | "emulator";

export interface StackOptions {
  port: number;
  emulatorPort: number;
  /** wrangler --persist-to for the app (its D1); default .wrangler/state. */
  persistTo?: string;
  /** wrangler --persist-to for the emulator; default emulator/.wrangler/state. */
  emulatorPersistTo?: string;
  /** Secrets files (dotenv). Default: .dev.vars next to each wrangler config. */
  appEnvFile?: string;
  emulatorEnvFile?: string;
  /**
   * Debugger ports (each wrangler dev opens one, 9229 by default, so two would collide).
   * Default: any free ports.
   */
  inspectorPorts?: { app: number; emulator: number };
  /** Receives every output line of both wrangler processes. */
  output: (source: StackSource, line: string) => void;
  /** Colour in wrangler's output (only when it ends up on a terminal). */
  color?: boolean;
  readyTimeoutMs?: number;
}

export interface RunningStack {
  appUrl: string;
  emulatorUrl: string;
  /** Resolves when either process exits on its own (a crash, or a fatal config error). */
  exited: Promise<{ source: StackSource; code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops both processes (and their workerd children); safe to call more than once. */
  stop(): Promise<void>;
}

interface Managed {
  source: StackSource;
  child: ChildProcess;
  done: Promise<void>;
  recent: string[];
  buildFailed: boolean;
}

const running = new Set<Managed>();
// Last resort if the parent dies without stop(): never leave workerd listening on a port.
process.once("exit", () => {
  for (const managed of running) signalGroup(managed.child, "SIGKILL");
});

/** Signals wrangler and the workerd it started; 0 only asks whether any of them is alive. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals | 0): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the whole group is gone
  }
}

function startWrangler(source: StackSource, args: string[], options: StackOptions): Managed {
  const child = spawn(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    env: wranglerEnv(options.color ? { FORCE_COLOR: "1" } : {}),
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so stop() reaches workerd too and a terminal's Ctrl-C is handled
    // by us (orderly shutdown of both) rather than racing inside each child.
    detached: true,
  });
  const managed: Managed = { source, child, recent: [], buildFailed: false, done: Promise.resolve() };
  const onLine = (line: string): void => {
    managed.recent.push(line);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC (\x1b) starts the terminal colour codes this strips.
    if (/Build failed/.test(line.replace(/\x1b\[[0-9;]*m/g, ""))) managed.buildFailed = true;
    if (managed.recent.length > 40) managed.recent.shift();
    options.output(source, line);
  };
  const streamsClosed = [child.stdout, child.stderr].map((stream) => {
    const lines = createInterface({ input: stream!, crlfDelay: Infinity });
    lines.on("line", onLine);
    return new Promise<void>((resolve) => lines.once("close", resolve));
  });
  managed.done = new Promise<void>((resolve) => {
    child.once("error", (error) => {
      onLine(`could not start wrangler: ${error.message}`);
      resolve();
    });
    child.once("exit", () => void Promise.all(streamsClosed).then(() => resolve()));
  });
  running.add(managed);
  void managed.done.then(() => running.delete(managed));
  return managed;
}

function failure(managed: Managed, what: string): StackError {
  return new StackError(what, managed.recent.map((line) => `  ${line}`).join("\n"));
}

async function waitUntilAnswering(url: string, managed: Managed, deadline: number): Promise<void> {
  let exited = false;
  void managed.done.then(() => (exited = true));
  for (;;) {
    if (exited) throw failure(managed, `${managed.source} (wrangler dev) exited before answering at ${url}.`);
    if (managed.buildFailed) {
      // wrangler dev keeps running after a failed first build but does not recover from it.
      await new Promise((resolve) => setTimeout(resolve, 300)); // let the error's details arrive
      throw failure(managed, `The ${managed.source} Worker does not build (esbuild's error is in wrangler's output).`);
    }
    try {
      const response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return; // any HTTP answer means the Worker is up
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw failure(managed, `${managed.source} did not answer at ${url} in time.`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

async function stopManaged(managed: Managed): Promise<void> {
  if (!running.has(managed)) return;
  signalGroup(managed.child, "SIGTERM");
  const timedOut = await Promise.race([
    managed.done.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 5_000).unref()),
  ]);
  // wrangler has exited (or hangs): make sure nothing of its group keeps a port open.
  if (signalGroup(managed.child, 0) || timedOut) {
    await new Promise((resolve) => setTimeout(resolve, timedOut ? 0 : 500));
    signalGroup(managed.child, "SIGKILL");
  }
  await managed.done;
}

function emulatorDevArgs(
  port: number,
  inspectorPort: number,
  vars: Record<string, string>,
  persistTo?: string,
  envFile?: string,
): string[] {
  return [
    "dev",
    "-c",
    EMULATOR_CONFIG,
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--show-interactive-dev-session=false",
    ...(persistTo ? ["--persist-to", persistTo] : []),
    ...(envFile ? ["--env-file", envFile] : []),
    ...varFlags(vars),
  ];
}

/**
 * Starts the emulator alone (`npm run bench` runs it in its own process, so the memory it
 * measures is the app's): `vars` are its EMULATOR_ORIGIN and APP_ORIGIN, the origins the app
 * under test uses, whatever port it listens on.
 */
export async function startEmulator(options: {
  port: number;
  vars: Record<string, string>;
  envFile: string;
  persistTo: string;
  output: StackOptions["output"];
}): Promise<{ stop(): Promise<void> }> {
  const emulator = startWrangler(
    "emulator",
    emulatorDevArgs(options.port, await freePort(), options.vars, options.persistTo, options.envFile),
    { port: 0, emulatorPort: options.port, output: options.output },
  );
  const stop = () => stopManaged(emulator);
  try {
    await waitUntilAnswering(`http://localhost:${options.port}/`, emulator, Date.now() + 90_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}

/** Starts the emulator and the app, resolving once both answer HTTP. */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const { port, emulatorPort } = options;
  if (port === emulatorPort) throw new StackError("The app and the emulator need different ports.");
  const inspector = options.inspectorPorts ?? { app: await freePort(), emulator: await freePort() };
  const common = ["--show-interactive-dev-session=false"];
  const emulator = startWrangler(
    "emulator",
    emulatorDevArgs(emulatorPort, inspector.emulator, emulatorVars(port, emulatorPort), options.emulatorPersistTo, options.emulatorEnvFile),
    options,
  );
  const app = startWrangler(
    "app",
    [
      "dev",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector.app),
      ...common,
      ...(options.persistTo ? ["--persist-to", options.persistTo] : []),
      ...(options.appEnvFile ? ["--env-file", options.appEnvFile] : []),
      ...varFlags(appVars(port, emulatorPort)),
    ],
    options,
  );
  const stop = async (): Promise<void> => {
    await Promise.all([stopManaged(app), stopManaged(emulator)]);
  };
  const appUrl = `http://localhost:${port}`;
  const emulatorUrl = `http://localhost:${emulatorPort}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  try {
    await Promise.all([waitUntilAnswering(`${emulatorUrl}/`, emulator, deadline), waitUntilAnswering(`${appUrl}/`, app, deadline)]);
  } catch (error) {
    await stop();
    throw error;
  }
  const exited = Promise.race(
    [app, emulator].map((managed) =>
      managed.done.then(() => ({ source: managed.source, code: managed.child.exitCode, signal: managed.child.signalCode })),
    ),
  );
  return { appUrl, emulatorUrl, exited, stop };
}
