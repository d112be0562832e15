// Browser-test harness for `node --test` (npm run test:e2e): the same stack as `npm start`
// (scripts/stack.ts), but on its own ports, with throwaway state and throwaway secrets, so a
// run never touches the developer's local database or .dev.vars and can run beside `npm start`.
//
//   const stack = await startStack();          // in before()
//   const browser = await launchBrowser();
//   const page = await browser.newPage();
//   await page.goto(stack.appUrl);
//   await browser.close(); await stack.stop();  // in after()
import { existsSync, mkdirSync, rmSync, createWriteStream } from "node:fs";
import { basename, join } from "node:path";
import { after, before } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { ROOT } from "../../scripts/paths.ts";
import {
  StackError,
  assertPortsFree,
  emulatorSecrets,
  formatEnvFile,
  generateSecrets,
  prepareDatabase,
  startStack as startLocalStack,
  writeSecretsFile,
} from "../../scripts/stack.ts";

export const CHROMIUM_PATH = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const CHROMIUM_MISSING = `Chromium is not installed at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\``;

/** Wiped at the start of every startStack(): D1 state and secrets of the last run. */
export const E2E_STATE_DIR = join(ROOT, ".wrangler", "e2e-state");
/** Both Workers' output, one file per test file; scripts/e2e.ts empties it before a run. */
export const E2E_LOG_DIR = join(ROOT, ".wrangler", "e2e-logs");

export interface E2EStack {
  appUrl: string;
  emulatorUrl: string;
  /** Both Workers' output ([app]/[emulator] lines); printed to stderr instead with E2E_VERBOSE=1. */
  logFile: string;
  /**
   * Stops both Workers and starts them again on the same ports and state, as Ctrl-C and a second
   * `npm start` would (migrations and seed re-run; both keep what they had).
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function portFromEnv(name: string, fallback: number): number {
  const port = Number(process.env[name] || fallback);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name} is not a port number`);
  return port;
}

// A test process stopped by Ctrl-C or by the test runner's timeout still stops wrangler:
// exiting runs the cleanup stack.ts registers, which a signal's default action would skip.
let signalHandlersInstalled = false;
function exitOnSignals(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  process.once("SIGINT", () => process.exit(130));
  process.once("SIGTERM", () => process.exit(143));
}

/**
 * Starts the emulator and the app (ports E2E_PORT/E2E_EMULATOR_PORT, default 8797/8798) on a fresh
 * migrated and seeded local D1, and resolves when both answer HTTP.
 */
export async function startStack(): Promise<E2EStack> {
  const port = portFromEnv("E2E_PORT", 8797);
  const emulatorPort = portFromEnv("E2E_EMULATOR_PORT", 8798);
  await assertPortsFree(
    { E2E_PORT: port, E2E_EMULATOR_PORT: emulatorPort },
    "Is another e2e run still going? Stop it, or pick other ports with E2E_PORT and E2E_EMULATOR_PORT.",
  );
  exitOnSignals();

  rmSync(E2E_STATE_DIR, { recursive: true, force: true });
  mkdirSync(E2E_STATE_DIR, { recursive: true });
  const appState = join(E2E_STATE_DIR, "app");
  const emulatorState = join(E2E_STATE_DIR, "emulator");

  // Secrets go to wrangler through --env-file, which also keeps it from reading .dev.vars.
  const secrets = generateSecrets();
  const appEnvFile = join(E2E_STATE_DIR, "app.env");
  const emulatorEnvFile = join(E2E_STATE_DIR, "emulator.env");
  writeSecretsFile(appEnvFile, formatEnvFile("Throwaway secrets for one e2e run.", { ...secrets }));
  writeSecretsFile(emulatorEnvFile, formatEnvFile("Throwaway secrets for one e2e run.", emulatorSecrets(secrets)));

  prepareDatabase(appState);

  // Under `node --test` every test file runs in its own process, started with the file's path.
  mkdirSync(E2E_LOG_DIR, { recursive: true });
  const logFile = join(E2E_LOG_DIR, `${basename(process.argv[1] ?? "e2e", ".ts")}.log`);
  const log = createWriteStream(logFile, { flags: "a" });
  const verbose = process.env.E2E_VERBOSE === "1";
  const start = () =>
    startLocalStack({
      port,
      emulatorPort,
      persistTo: appState,
      emulatorPersistTo: emulatorState,
      appEnvFile,
      emulatorEnvFile,
      output: (source, line) => {
        const prefixed = `[${source}] ${line}\n`;
        log.write(prefixed);
        if (verbose) process.stderr.write(prefixed);
      },
    }).catch((error: unknown) => {
      log.end();
      if (error instanceof StackError && error.details) {
        error.message += ` Its last output (all of it in ${logFile}):\n${error.details}`;
      }
      throw error;
    });
  let stack = await start();
  return {
    appUrl: stack.appUrl,
    emulatorUrl: stack.emulatorUrl,
    logFile,
    async restart() {
      await stack.stop();
      log.write("[e2e] restarting the stack on the same state\n");
      prepareDatabase(appState);
      stack = await start();
    },
    async stop() {
      await stack.stop();
      await new Promise((resolve) => log.end(resolve));
    },
  };
}

/** Debian's Chromium, headless, driven by playwright-core (`npx playwright install` cannot run here). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(CHROMIUM_MISSING);
  return await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

export interface E2EContext {
  readonly stack: E2EStack;
  readonly browser: Browser;
}

/**
 * Registers this test file's before/after hooks: a fresh stack and a browser, stopped at the
 * end. Read `stack` and `browser` inside tests (they exist once `before` has run).
 */
export function useStackAndBrowser(): E2EContext {
  let stack: E2EStack | undefined;
  let browser: Browser | undefined;
  before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });
  return {
    get stack() {
      if (!stack) throw new Error("the e2e stack is not running (used outside a test?)");
      return stack;
    },
    get browser() {
      if (!browser) throw new Error("the browser is not running (used outside a test?)");
      return browser;
    },
  };
}
