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

for (const organizations of [10_000]) {
  it(`nightly_fanout ${organizations}`, async () => {
    await resetWorld();
    await eligibleOrganizations(organizations);
    const sync = await introspectWorkflow(env.SYNC_WORKFLOW);
    // The bench measures the fan-out, not the syncs: each run skips its start slot's sleep and closes
    // at once, so local workerd can close its instance's SQLite file (it keeps one per live instance,
    // and 10,000 sleeping instances exceed the open-file limit; production has no such limit).
    await sync.modifyAll(async (m) => {
      await m.disableSleeps();
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
      // The scheduled() invocation makes one Workflow call and no D1 query; every other invocation is a step.
      max_d1_queries_per_invocation: night.maxStep.d1Statements,
      max_subrequests_per_invocation: night.maxStep.subrequests,
      night_total_d1_queries: night.total.d1Statements,
      night_total_subrequests: night.total.subrequests + 1,
      wall_ms: wallMs,
    };
    console.log(`BENCH ${JSON.stringify(line)}`);
    await sync.dispose();
  });
}
