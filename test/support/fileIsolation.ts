// What a fresh workerd process per test file used to give for free, now that the files of a vitest
// worker share one (vitest.config.ts, `isolate: false`). test/setup.ts calls these around every file.
import { applyD1Migrations, env, reset } from "cloudflare:test";
import { emulatorAdmin } from "./emulator.ts";

/**
 * Before a file: where a fresh process would start.
 * - reset() (cloudflare:test): deletes D1's tables and rows, the sign-in rate limit's counts and
 *   the emulator's Durable Object storage (its signing keys, grants, directory changes);
 * - the emulator's restart: its memory rebuilt from that empty storage, as when its object first
 *   starts in a new process (emulator/src/restore.ts): the demo directory, no faults, grants,
 *   subscriptions or counts. Its reset alone would keep in memory what storage no longer has.
 *
 * The app's modules are not evaluated again (no vi.resetModules()): that cost about 0.1 s of CPU a
 * file, some 8 s a run. What they keep per isolate carries over from file to file, as it does from
 * request to request in production: the configuration (by env object), the vault's and the sign-in
 * round trip's keys (by secret), the discovery documents (by URL, the same in every file) and the
 * JWKS (by URL; the emulator's restart keeps a signing key the app may hold, keys.ts). A test that
 * needs Microsoft to be asked for a document uses a tenant of its own (entraRealTenants.test.ts).
 */
export async function startFileAfresh(): Promise<void> {
  await reset();
  await emulatorAdmin("restart");
}

/** What migrations/*.sql built, taken once per worker (migrateAfresh). */
let migrated: { statements: string[]; names: string[] } | null = null;

/**
 * After reset(): D1 migrated. The first file of a worker applies migrations/*.sql
 * (applyD1Migrations: a round trip per migration and every table rebuild they make, about 75 ms),
 * then keeps what they built: sqlite_master's CREATE statements, which SQLite keeps as they stand
 * after every ALTER, and d1_migrations' rows. The worker's later files build the same schema from
 * them in one batch. Tables come first, so that an index or trigger never precedes its table.
 */
export async function migrateAfresh(): Promise<void> {
  if (migrated) {
    await env.DB.batch([
      ...migrated.statements.map((sql) => env.DB.prepare(sql)),
      env.DB.prepare("insert into d1_migrations (name) select value from json_each(?)").bind(JSON.stringify(migrated.names)),
    ]);
    return;
  }
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  const [objects, applied] = await env.DB.batch<{ sql: string } & { name: string }>([
    env.DB.prepare(
      `select sql from sqlite_master where sql is not null and name not glob 'sqlite_*' and name not glob '_cf_*'
       order by case type when 'table' then 0 when 'index' then 1 when 'view' then 2 else 3 end, rowid`,
    ),
    env.DB.prepare("select name from d1_migrations order by id"),
  ]);
  migrated = { statements: objects!.results.map(({ sql }) => sql), names: applied!.results.map(({ name }) => name) };
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
