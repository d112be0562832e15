// Nightly fan-out figures (printed, not asserted): 1,000 and 10,000 eligible organizations (cheap
// rows, no tenant behind them) through the real scheduled() handler and NightlyWorkflow. The D1
// statements and subrequests of each step (each step is one invocation) come from the night's own
// counters; the sync instances it starts are told their connection is gone, so they close at once.
import { env, introspectWorkflow } from "cloudflare:test";
import { it } from "vitest";
import { emptyD1Stats } from "../src/entra/sync/d1Stats.ts";
import { fireCron, nextCronTime, resetWorld } from "../test/sync/support.ts";

async function eligibleOrganizations(n: number) {
  for (let i = 0; i < n; i += 2000) {
    const rows = JSON.stringify(Array.from({ length: Math.min(2000, n - i) }, () => crypto.randomUUID()));
    await env.DB.batch([
      env.DB.prepare("insert into organizations (id, name, plan, created_at) select value, 'Org ' || value, 'enterprise', 1 from json_each(?)").bind(rows),
      env.DB.prepare(
        "insert into entra_connections (organization_id, status, tenant_id, auto_deprovision, updated_at) select value, 'connected', lower(hex(randomblob(16))), 1, 1 from json_each(?)",
      ).bind(rows),
    ]);
  }
}

// 10,000 cannot run on this machine: local Workflows keep every instance's SQLite database open
// (3 files: database, WAL, shared memory) until workerd exits, whether the run finished or not,
// and the container's hard open-file limit is 20,000 (raising it needs CAP_SYS_RESOURCE). 5,000
// instances are 15,000 files. A page costs the same at any fleet size (fanout.ts), so the largest
// invocation at 5,000 is the largest at 10,000; only the number of steps grows.
const FLEETS = [1000, 5000];
for (const organizations of FLEETS) {
  it(`nightly_fanout ${organizations}`, async () => {
    await resetWorld();
    await eligibleOrganizations(organizations);
    const sync = await introspectWorkflow(env.SYNC_WORKFLOW);
    // The runs keep their start slots (sleeps stay): the bench measures the fan-out, not the syncs.
    await sync.modifyAll(async (m) => {
      await m.mockStepResult({ name: "load connection" }, { value: { tenantId: null, deltaLinkEnc: null }, d1: emptyD1Stats() });
    });
    const started = Date.now();
    const night = await fireCron(nextCronTime(), 600_000);
    const wallMs = Date.now() - started;
    const runs = await env.DB.prepare("select count(*) as n from sync_runs where trigger = 'schedule'").first<{ n: number }>();
    const line = {
      scenario: "nightly_fanout",
      organizations,
      started: night.started,
      run_rows: runs?.n ?? 0,
      pages: night.pages,
      // The scheduled() invocation makes one Workflow call and no D1 query; every other invocation is a
      // step: the fan-out's pages, then real-time updates' upkeep (25 organizations a step; these
      // organizations have no token, so their upkeep makes no Graph call here: with tokens each makes
      // at most 3, a token refresh and a create, renew or delete, so at most 75 more a step).
      max_d1_queries_per_invocation: Math.max(night.maxStep.d1Statements, night.realtime.maxStepD1Statements),
      max_subrequests_per_invocation: night.maxStep.subrequests,
      fanout_max_d1_queries_per_step: night.maxStep.d1Statements,
      upkeep_max_d1_queries_per_step: night.realtime.maxStepD1Statements,
      night_total_d1_queries: night.total.d1Statements,
      night_total_subrequests: night.total.subrequests + 1,
      wall_ms: wallMs,
    };
    console.log(`BENCH ${JSON.stringify(line)}`);
    await sync.dispose();
  });
}
