// What a fresh workerd process per test file used to give for free, now that the files of a vitest
// worker share one (vitest.config.ts, `isolate: false`). test/setup.ts calls these around every file.
import { env, reset } from "cloudflare:test";
import { vi } from "vitest";
import { emulatorAdmin } from "./emulator.ts";

/**
 * Before a file: where a fresh process would start.
 * - vi.resetModules(): the app and every module it imports are evaluated again for this file, so
 *   per-isolate state (the discovery document and JWKS caches, vault keyrings) starts cold;
 * - reset() (cloudflare:test): deletes D1's tables and rows, the sign-in rate limit's counts and
 *   the emulator's Durable Object storage (its signing keys, grants, directory changes);
 * - the emulator's restart: its memory rebuilt from that empty storage, as when its object first
 *   starts in a new process (emulator/src/restore.ts): the demo directory, new signing keys, no
 *   faults, grants, subscriptions or counts. Its reset alone would keep the keys in memory that
 *   storage no longer has.
 */
export async function startFileAfresh(): Promise<void> {
  vi.resetModules();
  await reset();
  await emulatorAdmin("restart");
}

// Miniflare keeps Workflow instances across reset(). Most are done when their test ends: every test
// waits for the runs it starts. Some are not, as between two tests of a file: a nightly run
// waiting for its start slot, a step waiting to retry. A process per file ended them with the
// file; now the file ends them itself, so they cannot write into the next file's D1 or relay its
// events. A sync instance's id is its run's id, and the run row is written before the instance is
// created; rows are noted after each test because the next test's reset of the demo world deletes
// them. (Queued webhook messages are left: a delivery whose event is gone is acknowledged unsent,
// and a relay request only relays what is pending, as the app's own relays do.)
const STILL_GOING = new Set(["queued", "running", "paused", "waiting", "waitingForPause"]);
const openRuns = new Set<string>();
/** Imports (issue 20) likewise: an import's instance id is its row's id. */
const openImports = new Set<string>();

/** After each test: the runs still open, whose instances may outlive the test. */
export async function noteOpenRuns(): Promise<void> {
  const { results } = await env.DB.prepare("select id from sync_runs where status = 'running'").all<{ id: string }>();
  for (const { id } of results) openRuns.add(id);
  const imports = await env.DB.prepare("select id from directory_imports where status = 'running'").all<{ id: string }>();
  for (const { id } of imports.results) openImports.add(id);
}

/** After the file: terminates the instances of those runs that are still going. */
export async function endLeftoverRuns(): Promise<void> {
  const open: [Workflow<unknown>, Set<string>][] = [
    [env.SYNC_WORKFLOW, openRuns],
    [env.IMPORT_WORKFLOW, openImports],
  ];
  for (const [workflow, ids] of open) {
    for (const id of ids) {
      try {
        const instance = await workflow.get(id);
        if (!STILL_GOING.has((await instance.status()).status)) continue;
        await instance.terminate();
      } catch {
        // No instance by that id: the run failed to start it.
      }
    }
    ids.clear();
  }
}
