// Copies browser libraries from node_modules into the Worker's static assets (public/vendor/,
// gitignored), so pages load them from our own origin: no CDN, works offline, fits a strict CSP.
// Idempotent: a file is rewritten only when missing or different.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "./paths.ts";

const VENDORED = [{ from: "node_modules/htmx.org/dist/htmx.min.js", to: "public/vendor/htmx.min.js" }];

function readIfPresent(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** Returns the destination paths that were (re)written. */
export function vendorBrowserLibraries(): string[] {
  const written: string[] = [];
  for (const { from, to } of VENDORED) {
    const source = readIfPresent(join(ROOT, from));
    if (!source) throw new Error(`${from} is missing: run \`npm ci\` first.`);
    const target = join(ROOT, to);
    const current = readIfPresent(target);
    if (current && current.equals(source)) continue;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, source);
    written.push(to);
  }
  return written;
}

if (import.meta.main) {
  for (const path of vendorBrowserLibraries()) console.log(`vendor: wrote ${path}`);
}
