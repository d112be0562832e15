// `npm run bench`: runs bench/*.bench.ts inside workerd (vitest.bench.config.ts) and prints one
// JSON object per line, one per scenario. Figures are printed, not asserted; medians where a
// scenario is repeated. Stops by itself: each scenario has a time limit, the whole run 15 minutes.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "./paths.ts";

const VITEST = join(ROOT, "node_modules", "vitest", "vitest.mjs");
const LIMIT_MS = 15 * 60 * 1000;

const child = spawn(process.execPath, [VITEST, "run", "--config", "vitest.bench.config.ts", "--reporter=dot", "--silent=false"], {
  cwd: ROOT,
  stdio: ["ignore", "pipe", "pipe"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
});
const timer = setTimeout(() => child.kill("SIGTERM"), LIMIT_MS);
let output = "";
const reader = createInterface({ input: child.stdout });
reader.on("line", (line) => {
  const at = line.indexOf("BENCH {");
  if (at >= 0) console.log(line.slice(at + "BENCH ".length));
  else output += `${line}\n`;
});
child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
child.on("exit", (code) => {
  clearTimeout(timer);
  if (code !== 0) {
    process.stderr.write(output);
    process.exitCode = code ?? 1;
  }
});
