// Joiners at scale (issue 20), printed, not asserted: a 1M-user synthetic tenant of which 990,000
// are linked members; the 10,000 others (user i with i % 100 = 50, enabled) are new. With Add new
// people automatically on, a nightly run lists the directory (1,000 pages), names the 10,000
// candidates page by page, reads them from Graph in $batch requests of 20 and adds them. Reported
// from the run's own counters: Graph requests, D1 round trips and rows written (per joiner too),
// the most D1 queries any one step (an invocation) made, and the isolate heap growth is sampled by
// scripts/bench.ts when this file is among its measured files.
import { env } from "cloudflare:test";
import { it } from "vitest";
import { linkEveryone, nightly, syntheticTenant } from "./support.ts";
import { connectContoso } from "../test/support/entra.ts";
import { CONTOSO, resetWorld } from "../test/sync/support.ts";

const USERS = 1_000_000;

it(`joiner_sync at ${USERS}`, { timeout: 900_000 }, async () => {
  await resetWorld();
  const tenant = await syntheticTenant(USERS);
  const adele = await connectContoso(["auto-deprovision"], { account: tenant.adminOid });
  // Everyone but users i ≡ 50 (mod 100) is a linked member already (bulk SQL, not measured).
  await linkEveryone(tenant.tenantId, tenant.adminOid.slice(0, 8), USERS, { names: "directory", newEvery: 100 });
  await env.DB.batch([
    // The 1 % of disabled users (every 100th) are leavers: room for them under the threshold.
    env.DB.prepare("update entra_connections set hold_threshold_minimum = 1000000 where organization_id = ?").bind(CONTOSO),
  ]);
  // A first nightly run, not measured, with the setting off: it keeps the 990,000 members' profiles
  // (issue 19: a member's first full run writes their profile, about 11 rows each, which is
  // bench/sync.bench.ts's scenario). Turning the setting on forgets the delta link
  // (src/entra/runSettings.ts), so the measured run lists everyone again and names the 10,000 joiners.
  await nightly();
  await adele.page("/settings/integrations/entra");
  await adele.post("/settings/integrations/entra/import/add-new-people", { enabled: "true" }, { htmx: true });

  const { output, wallMs, runId } = await nightly(`joiner_sync:${USERS}`);
  const run = await env.DB.prepare("select added from sync_runs where id = ?").bind(runId).first<{ added: number }>();
  const added = run?.added ?? 0;
  const line = {
    scenario: "joiner_sync",
    users: USERS,
    joiners: USERS / 100,
    added,
    graph_requests: output.graphRequests,
    d1_round_trips: output.d1.roundTrips,
    d1_rows_written: output.d1.rowsWritten,
    d1_rows_written_per_joiner: added ? Math.round((output.d1.rowsWritten / added) * 10) / 10 : null,
    max_d1_queries_per_invocation: output.maxD1StatementsPerStep ?? null,
    wall_ms: wallMs,
    status: output.status,
    rss_label: `joiner_sync:${USERS}`,
  };
  console.log(`BENCH ${JSON.stringify(line)}`);
});
