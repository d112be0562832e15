// `npm test`, after scripts/vendor.ts: three lanes at once. The workerd suite; beside it the checks
// (format and lint with Biome, the import rules with dependency-cruiser, the type checks) one after
// another; and the Node-side judges. The suite spends part of its time waiting on timers (Workflow
// steps, polling), so on a 2-core machine the others cost it a few seconds, where in a row they added
// about 35. Every step runs whatever the others do, and the exit code is 1 if any failed. The
// workerd suite's output shows as it comes; the other lanes' shows at the end, so they never
// interleave.
import { spawn, type ChildProcess } from "node:child_process";
import { setPriority } from "node:os";
import { ROOT } from "./paths.ts";

interface Step {
  command: string;
  args: string[];
}

// Miniflare copies every certificate that NODE_EXTRA_CA_CERTS names into each workerd's configuration
// (for outbound TLS), and encoding them one by one took about 0.35 s of vitest's main thread per
// Miniflare, before any test could start: this machine names the whole system bundle, 144 certificates.
// The suite never leaves the machine (every outbound fetch goes to the emulator: vitest.config.ts), nor
// do the Node-side judges (their TLS front trusts its own certificate: test/node/harness.ts), and no
// other step makes a TLS connection: every step runs without it.
const { NODE_EXTRA_CA_CERTS: _systemCertificates, ...STEP_ENV } = process.env;

/** In order, each after the one before it, beside the workerd suite: they only use the CPU. */
const CHECKS: Step[] = [
  { command: "biome", args: ["ci", "--error-on-warnings"] },
  { command: "depcruise", args: ["src", "views", "emulator", "demo", "--config", ".dependency-cruiser.cjs"] },
  // TypeScript 7, the native compiler (package "typescript-native"), checks the types in a quarter of
  // the CPU of 5.9 (about 5 s instead of 25 s here), and single-threaded it leaves the other core to
  // the suite. TypeScript 5.9 stays installed as "typescript" only because dependency-cruiser
  // parses through its JavaScript API, which 7 does not have: with 7 it finds no module at all.
  { command: "node_modules/typescript-native/bin/tsc", args: ["--noEmit", "--singleThreaded"] },
  { command: "node_modules/typescript-native/bin/tsc", args: ["--noEmit", "--singleThreaded", "-p", "scripts"] },
];
/**
 * The Node-side judges, in a lane of their own beside both: they mostly wait (a Retry-After, a
 * token's round trips through the TLS front), and queued behind the checks they waited alone at the
 * end of the run.
 */
const JUDGES: Step = { command: "vitest", args: ["run", "--config", "vitest.node.config.ts"] };
const WORKERD_SUITE: Step = { command: "vitest", args: ["run"] };

const running = new Set<ChildProcess>();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const child of running) child.kill(signal);
    process.exitCode = 1;
  });
}

const label = (step: Step) => [step.command, ...step.args].join(" ");

// The workerd suite is what `npm test` waits for; the checks and the judges beside it only have to end
// before it. Its first seconds are vitest's main thread starting three workerd processes, one
// after another, while every other process competes for the two cores: at a lower priority, the
// checks and the judges take what the suite leaves idle instead of slowing its start.
const BESIDE_NICENESS = 10;

/** Runs one step (node_modules/.bin is first on PATH: scripts/bootstrap.mjs); resolves with whether it passed. */
function run(step: Step, output: "show" | "keep", kept: string[], niceness = 0): Promise<boolean> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(step.command, step.args, {
      cwd: ROOT,
      env: STEP_ENV,
      stdio: output === "show" ? "inherit" : ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    // Its own children (workerd, for the Node-side judges) inherit the priority. A step that is
    // already gone (or a system that refuses) just runs at the normal priority.
    if (niceness && child.pid !== undefined) {
      try {
        setPriority(child.pid, niceness);
      } catch {}
    }
    child.stdout?.on("data", (chunk: Buffer) => kept.push(chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => kept.push(chunk.toString()));
    child.on("error", (error) => kept.push(`${label(step)}: ${error.message}\n`));
    child.on("close", (code) => {
      running.delete(child);
      const passed = code === 0;
      kept.push(`${passed ? "passed" : "FAILED"}: ${label(step)} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
      resolve(passed);
    });
  });
}

async function checksLane(kept: string[]): Promise<boolean> {
  let passed = true;
  for (const step of CHECKS) passed = (await run(step, "keep", kept, BESIDE_NICENESS)) && passed;
  return passed;
}

const checksOutput: string[] = [];
const judgesOutput: string[] = [];
const suiteSummary: string[] = [];
const passed = await Promise.all([
  checksLane(checksOutput),
  run(JUDGES, "keep", judgesOutput, BESIDE_NICENESS),
  run(WORKERD_SUITE, "show", suiteSummary),
]);
process.stdout.write(`\n${checksOutput.join("")}${judgesOutput.join("")}${suiteSummary.join("")}`);
if (passed.includes(false)) process.exitCode = 1;
