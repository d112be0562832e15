// Before each test file: a clean slate (test/support/fileIsolation.ts: the files of a vitest worker
// share one workerd process), then migrate local D1 and load the demo world, as `npm start` does.
import { env } from "cloudflare:test";
import { afterAll, afterEach, expect } from "vitest";
import { demoSeedStatements } from "../demo/seed.ts";
import { endLeftoverRuns, migrateAfresh, noteOpenRuns, startFileAfresh } from "./support/fileIsolation.ts";

await startFileAfresh();
await migrateAfresh();
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

// Workflow instances that outlive their test end with the file, as they did with its process.
afterEach(noteOpenRuns);
afterAll(endLeftoverRuns, 60_000);
