// `npm run bench`: runs bench/*.bench.ts (or the files named after `--`) inside workerd (vitest.bench.config.ts) and prints one
// JSON object per line, one per scenario. Figures are printed, not asserted; medians where a
// scenario is repeated. Stops by itself: each scenario has a time limit, the whole run 15 minutes.
// Memory: the workerd processes under vitest are sampled from /proc every 10 ms; a scenario framed
// by "BENCH-RSS start|end <label> <ms>" markers gets peak_rss_growth_mb, the peak resident memory
// between the markers minus the resident memory just before (VmRSS samples, and VmHWM when the
// process reached a new high in between, which catches a peak shorter than a sample).
// The emulator runs in its own wrangler dev process (not as the tests' auxiliary Worker), so those
// workerd processes hold the app, its local D1 and Workflows, and the 68 MB of Graph JSON a 1M-user
// listing is serialized on the other side, as it is in production.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "./paths.ts";
import { formatEnvFile, freePort, generateSecrets, startEmulator, writeSecretsFile } from "./stack.ts";

const VITEST = join(ROOT, "node_modules", "vitest", "vitest.mjs");
const LIMIT_MS = 15 * 60 * 1000;
const STATE_DIR = join(ROOT, ".wrangler", "bench-emulator");

// Same client values on both sides: the ids the tests use (vitest.config.ts), fresh secrets.
const secrets = generateSecrets();
process.env.BENCH_MS_CLIENT_SECRET = secrets.MS_CLIENT_SECRET;
process.env.BENCH_GOOGLE_CLIENT_SECRET = secrets.GOOGLE_CLIENT_SECRET;
const { TEST_VARS } = await import("../vitest.config.ts");
rmSync(STATE_DIR, { recursive: true, force: true });
mkdirSync(STATE_DIR, { recursive: true });
const envFile = join(STATE_DIR, "emulator.env");
writeSecretsFile(envFile, formatEnvFile("Throwaway secrets for one bench run.", {
  MS_CLIENT_ID: TEST_VARS.MS_CLIENT_ID, MS_CLIENT_SECRET: TEST_VARS.MS_CLIENT_SECRET,
  GOOGLE_CLIENT_ID: TEST_VARS.GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET: TEST_VARS.GOOGLE_CLIENT_SECRET,
}));
const emulatorPort = await freePort(8898);
const emulator = await startEmulator({
  port: emulatorPort,
  // The origins the app under test knows it by (vitest.config.ts), whatever port it listens on.
  vars: { EMULATOR_ORIGIN: TEST_VARS.MS_AUTHORITY_HOST, APP_ORIGIN: TEST_VARS.APP_ORIGIN },
  envFile,
  persistTo: join(STATE_DIR, "state"),
  output: () => {},
});

const child = spawn(process.execPath, [VITEST, "run", "--config", "vitest.bench.config.ts", "--reporter=dot", "--silent=false", ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: ["ignore", "pipe", "pipe"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", BENCH_EMULATOR_PORT: String(emulatorPort) },
});

interface Sample { at: number; rssKb: number; hwmKb: number; anonKb: number }
const samples: Sample[] = [];
const windows = new Map<string, { start: number; end?: number }>();
let workerds: number[] = [];

/** workerd processes started (directly or not) by the vitest child. */
function findWorkerds(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid …: comm may hold spaces, so read after the last ")".
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  const found: number[] = [];
  for (const [pid] of parentOf) {
    let up = parentOf.get(pid);
    while (up !== undefined && up !== root && up > 1) up = parentOf.get(up);
    if (up !== root) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd") found.push(pid);
    } catch {
      // ended
    }
  }
  return found;
}

function sample() {
  let rssKb = 0;
  let hwmKb = 0;
  let anonKb = 0;
  for (const pid of workerds) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      rssKb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      hwmKb += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      anonKb += Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // ended
    }
  }
  samples.push({ at: Date.now(), rssKb, hwmKb, anonKb });
}

const finder = setInterval(() => (workerds = child.pid ? findWorkerds(child.pid) : []), 500);
const sampler = setInterval(sample, 10);

/**
 * Peak resident memory between the markers minus just before, in MB, and the same for anonymous
 * memory only (RssAnon: heaps, without the database file pages mapped by the local D1's SQLite,
 * which runs inside the same workerd process here and on its own machines in production).
 */
function rssGrowthMb(label: string): { total: number; anon: number } | null {
  const window = windows.get(label);
  if (!window?.end) return null;
  const before = samples.filter((s) => s.at <= window.start).at(-1);
  const during = samples.filter((s) => s.at >= window.start && s.at <= window.end!);
  if (!before || during.length === 0) return null;
  let peakKb = Math.max(...during.map((s) => s.rssKb));
  const hwmEnd = during.at(-1)!.hwmKb;
  if (hwmEnd > before.hwmKb) peakKb = Math.max(peakKb, hwmEnd);
  const anonPeakKb = Math.max(...during.map((s) => s.anonKb));
  const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;
  return { total: mb(peakKb - before.rssKb), anon: mb(anonPeakKb - before.anonKb) };
}

const timer = setTimeout(() => child.kill("SIGTERM"), LIMIT_MS);
let output = "";
const reader = createInterface({ input: child.stdout });
reader.on("line", (line) => {
  const marker = /BENCH-RSS (start|end) (\S+) (\d+)/.exec(line);
  if (marker) {
    const [, edge, label, at] = marker;
    if (edge === "start") windows.set(label!, { start: Number(at) });
    else {
      const window = windows.get(label!);
      if (window) window.end = Number(at);
    }
    return;
  }
  const at = line.indexOf("BENCH {");
  if (at < 0) {
    output += `${line}\n`;
    return;
  }
  const { rss_label: label, ...figures } = JSON.parse(line.slice(at + "BENCH ".length)) as Record<string, unknown>;
  const growth = typeof label === "string" ? rssGrowthMb(label) : null;
  console.log(JSON.stringify(growth === null ? figures : { ...figures, peak_rss_growth_mb: growth.total, peak_anon_rss_growth_mb: growth.anon }));
});
child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
child.on("exit", (code) => {
  void emulator.stop();
  clearTimeout(timer);
  clearInterval(finder);
  clearInterval(sampler);
  if (code !== 0) {
    process.stderr.write(output);
    process.exitCode = code ?? 1;
  }
});
