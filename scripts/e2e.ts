// `npm run test:e2e`: browser tests (test/e2e/*.test.ts) under Node's test runner, one file at a
// time since each starts its own stack on the same dedicated ports (test/e2e/harness.ts).
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { relative } from "node:path";
import { CHROMIUM_MISSING, CHROMIUM_PATH, E2E_LOG_DIR } from "../test/e2e/harness.ts";
import { ROOT } from "./paths.ts";
import { vendorBrowserLibraries } from "./vendor.ts";

if (!existsSync(CHROMIUM_PATH)) {
  console.error(`${CHROMIUM_MISSING}, then run \`npm run test:e2e\` again.`);
  process.exit(1);
}
vendorBrowserLibraries();
rmSync(E2E_LOG_DIR, { recursive: true, force: true });

const child = spawn(
  process.execPath,
  // `npm run test:e2e -- test/e2e/sync.test.ts` runs that file alone; other arguments go to node --test.
  [
    "--test",
    "--test-concurrency=1",
    ...process.argv.slice(2),
    ...(process.argv.slice(2).some((arg) => arg.endsWith(".test.ts")) ? [] : ["test/e2e/**/*.test.ts"]),
  ],
  { cwd: ROOT, stdio: "inherit" },
);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on("exit", (code, signal) => {
  process.exitCode = signal ? 1 : (code ?? 1);
  if (process.exitCode !== 0 && existsSync(E2E_LOG_DIR)) {
    console.error(`\nThe Workers' output (wrangler dev) for each test file is in ${relative(ROOT, E2E_LOG_DIR)}/.`);
  }
});
