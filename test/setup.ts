// Before each test file: a clean slate, then migrate local D1 and load the demo world, as `npm start` does.
//
// The test files of one vitest worker share one workerd process (vitest.config.ts, `isolate: false`):
// starting workerd and evaluating the app for every file cost more than most files' tests. So each
// file first undoes what the files before it left, to start where a fresh process would:
// - vi.resetModules(): the app and every module it imports are evaluated again for this file, so
//   per-isolate state (the discovery document and JWKS caches, vault keyrings) starts cold;
// - reset() (cloudflare:test): deletes D1's tables and rows and the sign-in rate limit's counts;
// - the emulator's reset: back to the demo directory, no faults, grants, subscriptions or counts.
// Miniflare keeps Workflow instances and queued messages across reset(), as it does between the
// tests of one file: every test already waits for the runs it starts, and nextCronTime
// (test/sync/support.ts) never gives two files the same night, so no instance id is asked twice.
import { applyD1Migrations, env, reset } from "cloudflare:test";
import { afterEach, expect, vi } from "vitest";
import { demoSeedStatements } from "../demo/seed.ts";
import { resetEmulator } from "./support/emulator.ts";

vi.resetModules();
await reset();
await resetEmulator();
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await env.DB.batch(demoSeedStatements().map((sql) => env.DB.prepare(sql)));

// The linked-active-member count is kept by triggers on every path that changes memberships,
// identities or the connected tenant (migrations/0009). Whatever a test did, through the app or
// in raw SQL, the count still matches a full COUNT afterwards.
afterEach(async () => {
  const drifted = await env.DB.prepare(`
    select organization_id, linked_active_members as kept, (
      select count(*) from memberships m
      where m.organization_id = c.organization_id and m.status = 'active'
        and exists (select 1 from identities i where i.user_id = m.user_id and i.provider = 'microsoft' and i.issuer_key = c.tenant_id)
    ) as counted
    from entra_connections c where kept != counted`).all();
  expect(drifted.results, "entra_connections.linked_active_members drifted from COUNT").toEqual([]);
});
