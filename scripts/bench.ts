// `npm run bench`: runs bench/*.bench.ts (or the files named after `--`) inside workerd
// (vitest.bench.config.ts) and prints one JSON object per line, one per scenario. Figures are
// printed, not asserted; medians where a scenario is repeated. Stops by itself: each scenario has a
// time limit, and each file runs in a vitest run (a workerd process) of its own, stopped after 15
// minutes. One process per file also keeps one file's leftovers (open files of local Workflows
// instances, filled caches) out of the next file's figures.
// Memory: the workerd processes under vitest are sampled from /proc every 10 ms; a scenario framed
// by "BENCH-RSS start|end <label> <ms>" markers gets peak_rss_growth_mb, the peak resident memory
// between the markers minus the resident memory just before (VmRSS samples, and VmHWM when the
// process reached a new high in between, which catches a peak shorter than a sample).
// The files that measure memory (MEMORY_MEASURED) run with the emulator in its own wrangler dev
// process instead of as the tests' auxiliary Worker, so the sampled workerd holds the app, its local
// D1 and Workflows, while the 68 MB of Graph JSON of a 1M-user listing is serialized elsewhere, as
// in production. The others keep the emulator beside the app: real-time updates need the emulator
// to reach the app's webhook, which only the in-process service binding can. For the measured
// files the app isolate's V8 heap is sampled too, through workerd's inspector (isolate_heap_*_mb:
// used heap just before, peak during, and the growth; the heap V8 holds, before and at its peak).
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "./paths.ts";
import { formatEnvFile, freePort, generateSecrets, startEmulator, writeSecretsFile } from "./stack.ts";

const VITEST = join(ROOT, "node_modules", "vitest", "vitest.mjs");
const LIMIT_MS = 15 * 60 * 1000;
const STATE_DIR = join(ROOT, ".wrangler", "bench-emulator");
const MEMORY_MEASURED = [
  "bench/sync.bench.ts",
  "bench/joinerSync.bench.ts",
  "bench/moverSync.bench.ts",
  "bench/import.bench.ts",
  "bench/mappingPreview.bench.ts",
];

interface Sample {
  at: number;
  rssKb: number;
  hwmKb: number;
  anonKb: number;
}

/** workerd processes started (directly or not) by process `root`. */
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

function sample(pids: number[]): Sample {
  let rssKb = 0;
  let hwmKb = 0;
  let anonKb = 0;
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      rssKb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      hwmKb += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      anonKb += Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // ended
    }
  }
  return { at: Date.now(), rssKb, hwmKb, anonKb };
}

/**
 * Peak resident memory between the markers minus just before, in MB, and the same for anonymous
 * memory only (RssAnon: heaps, without the database file pages mapped by the local D1's SQLite,
 * which runs inside the same workerd process here and on its own machines in production).
 */
function rssGrowthMb(samples: Sample[], window: { start: number; end?: number } | undefined): { total: number; anon: number } | null {
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

/** The isolate that runs the app (its Worker, its Workflows' steps) and the bench code under vitest. */
const APP_ISOLATE = "core:user:vitest-plugin-runner-";
interface HeapSample {
  at: number;
  usedBytes: number;
  totalBytes: number;
}

/**
 * The app isolate's V8 heap, through workerd's inspector (DevTools protocol, `Runtime.getHeapUsage`):
 * the memory the 128 MB isolate limit is about, apart from the local D1's and Workflows engine's
 * SQLite, which share the workerd process. Sampled every 100 ms while `active()`.
 */
function sampleAppHeap(port: number, samples: HeapSample[], active: () => boolean): () => void {
  let socket: WebSocket | null = null;
  let next = 1;
  const connect = () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/${APP_ISOLATE}`);
    ws.onmessage = (message) => {
      const reply = JSON.parse(String(message.data)) as { result?: { usedSize?: number; totalSize?: number } };
      if (typeof reply.result?.usedSize === "number")
        samples.push({ at: Date.now(), usedBytes: reply.result.usedSize, totalBytes: reply.result.totalSize ?? 0 });
    };
    ws.onclose = () => (socket = null);
    ws.onerror = () => ws.close();
    ws.onopen = () => (socket = ws);
  };
  const timer = setInterval(() => {
    if (!active()) return;
    if (socket === null) connect();
    else socket.send(JSON.stringify({ id: next++, method: "Runtime.getHeapUsage" }));
  }, 100);
  return () => {
    clearInterval(timer);
    socket?.close();
  };
}

function heapFigures(samples: HeapSample[], window: { start: number; end?: number } | undefined) {
  if (!window?.end) return null;
  const before = samples.filter((s) => s.at <= window.start).at(-1);
  const during = samples.filter((s) => s.at >= window.start && s.at <= window.end!);
  if (!before || during.length === 0) return null;
  const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  const peak = Math.max(...during.map((s) => s.usedBytes));
  // Used: live objects and garbage not yet collected. Total: what V8 holds for the heap (resident
  // memory sees this one), which it gives back only after collecting.
  const peakTotal = Math.max(...during.map((s) => s.totalBytes));
  return {
    isolate_heap_before_mb: mb(before.usedBytes),
    isolate_heap_peak_mb: mb(peak),
    isolate_heap_growth_mb: mb(peak - before.usedBytes),
    isolate_heap_total_before_mb: mb(before.totalBytes),
    isolate_heap_total_peak_mb: mb(peakTotal),
  };
}

/** One vitest run over `files`; prints its BENCH lines as JSON; resolves with its exit code. */
async function runBench(files: string[], extraEnv: Record<string, string>, inspect = false): Promise<number> {
  const inspectorPort = inspect ? await freePort(9339) : null;
  const child = spawn(
    process.execPath,
    [
      VITEST,
      "run",
      "--config",
      "vitest.bench.config.ts",
      "--reporter=dot",
      "--silent=false",
      ...(inspectorPort ? [`--inspect=127.0.0.1:${inspectorPort}`] : []),
      ...files,
    ],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...extraEnv },
    },
  );
  const samples: Sample[] = [];
  const windows = new Map<string, { start: number; end?: number }>();
  let workerds: number[] = [];
  const finder = setInterval(() => (workerds = child.pid ? findWorkerds(child.pid) : []), 500);
  const sampler = setInterval(() => samples.push(sample(workerds)), 10);
  const heap: HeapSample[] = [];
  let running = true;
  const stopHeap = inspectorPort ? sampleAppHeap(inspectorPort, heap, () => running) : () => {};
  const timer = setTimeout(() => child.kill("SIGTERM"), LIMIT_MS);
  let output = "";
  createInterface({ input: child.stdout }).on("line", (line) => {
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
    const growth = typeof label === "string" ? rssGrowthMb(samples, windows.get(label)) : null;
    const heapMb = typeof label === "string" ? heapFigures(heap, windows.get(label)) : null;
    console.log(
      JSON.stringify({
        ...figures,
        ...(growth ? { peak_rss_growth_mb: growth.total, peak_anon_rss_growth_mb: growth.anon } : {}),
        ...(heapMb ?? {}),
      }),
    );
  });
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    child.on("exit", (code) => {
      running = false;
      stopHeap();
      clearTimeout(timer);
      clearInterval(finder);
      clearInterval(sampler);
      if (code !== 0) process.stderr.write(output);
      resolve(code ?? 1);
    });
  });
}

/** The emulator in its own process, for the memory-measured files; the same client values as the tests. */
async function separateEmulator(): Promise<{ port: number; stop(): Promise<void> }> {
  const secrets = generateSecrets();
  process.env.BENCH_MS_CLIENT_SECRET = secrets.MS_CLIENT_SECRET;
  process.env.BENCH_GOOGLE_CLIENT_SECRET = secrets.GOOGLE_CLIENT_SECRET;
  // Imported now, so that its TEST_VARS take the secrets above (vitest's own import does too).
  const { TEST_VARS } = await import("../vitest.config.ts");
  rmSync(STATE_DIR, { recursive: true, force: true });
  mkdirSync(STATE_DIR, { recursive: true });
  const envFile = join(STATE_DIR, "emulator.env");
  writeSecretsFile(
    envFile,
    formatEnvFile("Throwaway secrets for one bench run.", {
      MS_CLIENT_ID: TEST_VARS.MS_CLIENT_ID,
      MS_CLIENT_SECRET: TEST_VARS.MS_CLIENT_SECRET,
      GOOGLE_CLIENT_ID: TEST_VARS.GOOGLE_CLIENT_ID,
      GOOGLE_CLIENT_SECRET: TEST_VARS.GOOGLE_CLIENT_SECRET,
    }),
  );
  const port = await freePort(8898);
  const emulator = await startEmulator({
    port,
    // The origins the app under test knows it by (vitest.config.ts), whatever port it listens on.
    vars: { EMULATOR_ORIGIN: TEST_VARS.MS_AUTHORITY_HOST, APP_ORIGIN: TEST_VARS.APP_ORIGIN },
    envFile,
    persistTo: join(STATE_DIR, "state"),
    output: () => {},
  });
  return { port, stop: emulator.stop };
}

const named = process.argv.slice(2);
const files =
  named.length > 0
    ? named
    : readdirSync(join(ROOT, "bench"))
        .filter((f) => f.endsWith(".bench.ts"))
        .sort()
        .map((f) => `bench/${f}`);
const measured = files.filter((f) => MEMORY_MEASURED.includes(f.replace(/^\.\//, "")));
const others = files.filter((f) => !measured.includes(f));

let failed = 0;
for (const file of others) failed ||= await runBench([file], {});
if (measured.length > 0) {
  const emulator = await separateEmulator();
  try {
    failed ||= await runBench(measured, { BENCH_EMULATOR_PORT: String(emulator.port) }, true);
  } finally {
    await emulator.stop();
  }
}
process.exitCode = failed;
