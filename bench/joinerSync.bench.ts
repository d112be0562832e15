// Joiners at scale (issue 20), printed, not asserted: a 1M-user synthetic tenant of which 990,000
// are linked members; the 10,000 others (user i with i % 100 = 50, enabled) are new. With Add new
// people automatically on, a nightly run lists the directory (1,000 pages), names the 10,000
// candidates page by page, reads them from Graph in $batch requests of 20 and adds them. Reported
// from the run's own counters: Graph requests, D1 round trips and rows written (per joiner too),
// the most D1 queries any one step (an invocation) made, and the isolate heap growth is sampled by
// scripts/bench.ts when this file is among its measured files.
import { env, introspectWorkflowInstance } from "cloudflare:test";
import { it } from "vitest";
import { nightlyRunId } from "../src/entra/sync/schedule.ts";
import type { SyncRunOutput } from "../src/entra/sync/workflow.ts";
import { connectContoso } from "../test/support/entra.ts";
import { emulatorAdmin } from "../test/support/emulator.ts";
import { CONTOSO, fireCron, nextCronTime, resetWorld } from "../test/sync/support.ts";

const USERS = 1_000_000;

/** A nightly run, awaited and disposed (not measured). */
async function nightly() {
  const at = nextCronTime();
  const instance = await introspectWorkflowInstance(env.SYNC_WORKFLOW, nightlyRunId(CONTOSO, at));
  await fireCron(at);
  await instance.waitForStatus("complete");
  await instance.dispose();
}

it(`joiner_sync at ${USERS}`, { timeout: 900_000 }, async () => {
  await resetWorld();
  const tenant = await emulatorAdmin<{ tenantId: string; adminOid: string }>("synthetic-tenants", {
    users: USERS,
    consented: true,
    domain: "synthetic.example",
  });
  const adele = await connectContoso(["auto-deprovision"], { account: tenant.adminOid });
  const prefix = tenant.adminOid.slice(0, 8);
  // Everyone but users i ≡ 50 (mod 100) is a linked member already (bulk SQL, not measured).
  const numbers = "with recursive n(i) as (select ?1 union all select i + 1 from n where i < ?2)";
  const userId = "printf('00be0c00-0000-4000-8000-%012x', i)";
  for (let from = 0; from < USERS; from += 50_000) {
    const to = Math.min(from + 50_000, USERS) - 1;
    await env.DB.batch([
      env.DB.prepare(
        `${numbers} insert into users (id, email, display_name, created_at)
          select ${userId}, printf('user%d@synthetic.example', i), case when i = 0 then 'Synthetic Admin' else 'Synthetic User ' || i end, 1
          from n where i % 100 != 50`,
      ).bind(from, to),
      env.DB.prepare(`${numbers} insert into identities (provider, issuer_key, subject, user_id, created_at)
        select 'microsoft', ?3, printf('%s-5e00-4000-8000-%012x', ?4, i), ${userId}, 1 from n where i % 100 != 50`).bind(
        from,
        to,
        tenant.tenantId,
        prefix,
      ),
      env.DB.prepare(`${numbers} insert into memberships (organization_id, user_id, role, status, created_at)
        select ?3, ${userId}, 'member', 'active', 1 from n where i % 100 != 50`).bind(from, to, CONTOSO),
    ]);
  }
  await env.DB.batch([
    // The 1 % of disabled users (every 100th) are leavers: room for them under the threshold.
    env.DB.prepare("update entra_connections set hold_threshold_minimum = 1000000 where organization_id = ?").bind(CONTOSO),
  ]);
  // A first nightly run, not measured, with the setting off: it keeps the 990,000 members' profiles
  // (issue 19: a member's first full run writes their profile, about 11 rows each, which is
  // bench/sync.bench.ts's scenario). Its delta link is then forgotten, so the measured run lists
  // everyone again and names the 10,000 joiners, as a first run with the setting on does.
  await nightly();
  await env.DB.prepare("update entra_connections set delta_link_enc = null where organization_id = ?").bind(CONTOSO).run();
  await adele.page("/settings/integrations/entra");
  await adele.post("/settings/integrations/entra/import/add-new-people", { enabled: "true" }, { htmx: true });

  const at = nextCronTime();
  const instance = await introspectWorkflowInstance(env.SYNC_WORKFLOW, nightlyRunId(CONTOSO, at));
  await env.DB.prepare("select 1").first();
  console.log(`BENCH-RSS start joiner_sync:${USERS} ${Date.now()}`);
  const started = Date.now();
  await fireCron(at);
  await instance.waitForStatus("complete");
  const output = (await instance.getOutput()) as SyncRunOutput;
  const wallMs = Date.now() - started;
  console.log(`BENCH-RSS end joiner_sync:${USERS} ${Date.now()}`);
  await instance.dispose();
  const run = await env.DB.prepare("select added from sync_runs where id = ?").bind(nightlyRunId(CONTOSO, at)).first<{ added: number }>();
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
