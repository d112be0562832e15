// Nightly fan-out figures (printed, not asserted): 1,000 and 10,000 eligible organizations (cheap
// rows, no tenant behind them) through the real scheduled() handler and NightlyWorkflow, on real
// local Workflows. The D1 statements and subrequests of each step (each step is one invocation)
// come from the night's own counters; the sync instances it starts are told their connection is
// gone, so they close at once.
//
// Why the bench deletes finished sync instances: local Workflows keep every instance's SQLite
// database open (3 files: database, WAL, shared memory) for as long as workerd runs, finished or
// not (measured: 300 finished instances still held 900 files 7 minutes later: their Durable
// Objects are not evicted; and workerd's in-memory storage has no SQL, which the engine needs),
// and the container's hard open-file limit is 20,000 (raising it needs CAP_SYS_RESOURCE), so
// 10,000 instances kept to the end (30,000 files) cannot run here. Disposing an instance (the
// plugin's introspector: its storage emptied, its Durable Object aborted) closes its files. So the
// runs do not wait for their start slots, and each instance is disposed once it is complete, while
// the night goes on. In production Workflows keeps finished instances for its retention period,
// and nothing in the fan-out reads one again: the night's run ids are new, so createBatch's
// "already exists" check (made by the real local Workflows for every id) finds none.
// What the night itself does and counts is unchanged; only the runs' work now shares the machine
// with it, which makes wall_ms a little pessimistic.
import {
  env,
  introspectWorkflow,
  introspectWorkflowInstance,
  type WorkflowInstanceIntrospector,
  type WorkflowIntrospector,
} from "cloudflare:test";
import { it } from "vitest";
import { emptyD1Stats } from "../src/lib/d1Stats.ts";
import { FANOUT_PAGE_SIZE } from "../src/nightly/fanout.ts";
import { nightlyFanoutId } from "../src/entra/sync/schedule.ts";
import { fireCron, nextCronTime, resetWorld } from "../test/sync/support.ts";

async function eligibleOrganizations(n: number) {
  for (let i = 0; i < n; i += 2000) {
    const rows = JSON.stringify(Array.from({ length: Math.min(2000, n - i) }, () => crypto.randomUUID()));
    await env.DB.batch([
      env.DB.prepare(
        "insert into organizations (id, name, plan, created_at) select value, 'Org ' || value, 'enterprise', 1 from json_each(?)",
      ).bind(rows),
      env.DB.prepare(
        "insert into entra_connections (organization_id, status, tenant_id, auto_deprovision, updated_at) select value, 'connected', lower(hex(randomblob(16))), 1, 1 from json_each(?)",
      ).bind(rows),
    ]);
  }
}

/**
 * Follows the night page by page and disposes each sync instance a page created once it has ended
 * (complete, or errored), while the night goes on: its files are closed then. Driven by the night's
 * own step results and each instance's status, which the Workflows engine resolves as they happen:
 * a timer in the bench would not do, since workerd fires timers only when it has nothing else to
 * do, and while the night runs it always has (measured: a 250 ms timer set just before the night
 * fired after it, 18 s later). Counts how the instances ended, and the most open at once (created,
 * not yet ended and disposed).
 */
async function disposeRunsAsTheyEnd(night: WorkflowInstanceIntrospector, sync: WorkflowIntrospector) {
  const known = new Set<WorkflowInstanceIntrospector>();
  const ending: Promise<void>[] = [];
  const counts = { complete: 0, errored: 0, open: 0, peakOpen: 0 };
  const watch = async (instance: WorkflowInstanceIntrospector) => {
    try {
      await instance.waitForStatus("complete");
      counts.complete++;
    } catch {
      // Rejected when the instance ended otherwise (errored): it is over all the same.
      counts.errored++;
    }
    await instance.dispose();
    counts.open--;
  };
  for (let page = 0; ; page++) {
    const done = (await night.waitForStepResult({ name: `page ${page}` })) as { value: { organizations: number } };
    // The page step returns after createBatch did: its instances are all known to the introspector.
    for (const instance of await sync.get()) {
      if (known.has(instance)) continue;
      known.add(instance);
      counts.open++;
      counts.peakOpen = Math.max(counts.peakOpen, counts.open);
      ending.push(watch(instance));
    }
    if (done.value.organizations < FANOUT_PAGE_SIZE) break;
  }
  await Promise.all(ending);
  return { ...counts, instances: known.size };
}

const FLEETS = [1000, 10_000];
for (const organizations of FLEETS) {
  it(`nightly_fanout ${organizations}`, async () => {
    await resetWorld();
    await eligibleOrganizations(organizations);
    const sync = await introspectWorkflow(env.SYNC_WORKFLOW);
    // The runs close at once (no start slot, connection gone), so that their instances can be disposed.
    await sync.modifyAll(async (m) => {
      await m.forceEventTimeout({ name: "wait for its start slot" });
      await m.mockStepResult({ name: "load connection" }, { value: { tenantId: null, deltaLinkEnc: null }, d1: emptyD1Stats() });
    });
    const at = nextCronTime();
    const nightInstance = await introspectWorkflowInstance(env.NIGHTLY_WORKFLOW, nightlyFanoutId(at));
    const started = Date.now();
    const following = disposeRunsAsTheyEnd(nightInstance, sync);
    // The night's wall time ends with its last step, not when fireCron next looks (a timer, see above).
    const nightEnded = nightInstance.waitForStepResult({ name: "relay webhook events" }).then(() => Date.now());
    const night = await fireCron(at, 1_200_000);
    const wallMs = (await nightEnded) - started;
    const runs = await following;
    const rows = await env.DB.prepare("select count(*) as n from sync_runs where trigger = 'schedule'").first<{ n: number }>();
    const line = {
      scenario: "nightly_fanout",
      organizations,
      started: night.started,
      run_rows: rows?.n ?? 0,
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
      // The sync instances the night created that then ran to the end, and the most open at once.
      instances_seen: runs.instances,
      instances_completed: runs.complete,
      instances_errored: runs.errored,
      peak_open_instances: runs.peakOpen,
    };
    console.log(`BENCH ${JSON.stringify(line)}`);
    await nightInstance.dispose();
    await sync.dispose();
  }, 1_800_000);
}
