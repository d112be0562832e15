// Directory sync figures (printed, not asserted): full runs over 1k, 10k and 100k synthetic users
// (1 % disabled, every user a linked member), a delta run after 100 changes, and a run with
// nothing changed. Each run goes through the real scheduled() handler and Workflow; its D1
// statements and rows come from the run's own counters (src/entra/sync/d1Stats.ts).
import { env, introspectWorkflowInstance } from "cloudflare:test";
import { it } from "vitest";
import { nightlyRunId } from "../src/entra/sync/schedule.ts";
import type { SyncRunOutput } from "../src/entra/sync/workflow.ts";
import { emulatorAdmin } from "../test/support/emulator.ts";
import {
  CONTOSO, connectSyntheticTenant, directoryUsers, fireCron, nextCronTime, resetWorld,
} from "../test/sync/support.ts";

function report(scenario: string, users: number, output: SyncRunOutput, wallMs: number) {
  const line = {
    scenario, users,
    graph_requests: output.graphRequests,
    d1_round_trips: output.d1.roundTrips,
    d1_statements: output.d1.statements,
    d1_rows_read: output.d1.rowsRead,
    d1_rows_written: output.d1.rowsWritten,
    wall_ms: wallMs,
    // workerd's clock moves with I/O, so this is wall time of the run per 1k users (the emulator
    // serving Graph shares the process): an upper bound on the Worker's CPU.
    cpu_ms_per_1k_users: Math.round((wallMs / (users / 1000)) * 10) / 10,
    deactivated: output.deactivated,
    reactivated: output.reactivated,
    users_read: output.usersRead,
    status: output.status,
  };
  console.log(`BENCH ${JSON.stringify(line)}`);
}

async function nightly(): Promise<{ output: SyncRunOutput; wallMs: number }> {
  const at = nextCronTime();
  const instance = await introspectWorkflowInstance(env.SYNC_WORKFLOW, nightlyRunId(CONTOSO, at));
  const started = Date.now();
  await fireCron(at);
  await instance.waitForStatus("complete");
  const output = (await instance.getOutput()) as SyncRunOutput;
  const wallMs = Date.now() - started;
  await instance.dispose();
  return { output, wallMs };
}

/** Every directory user becomes a linked, active member of Contoso (bulk SQL, not measured). */
async function linkEveryone(tenantId: string, oids: string[]) {
  const rows = oids.map((oid, i) => [crypto.randomUUID(), oid, `Synthetic ${i}`]);
  for (let i = 0; i < rows.length; i += 2000) {
    const chunk = JSON.stringify(rows.slice(i, i + 2000));
    await env.DB.batch([
      env.DB.prepare("insert into users (id, email, display_name, created_at) select json_extract(value, '$[0]'), null, json_extract(value, '$[2]'), 1 from json_each(?)").bind(chunk),
      env.DB.prepare("insert into identities (provider, issuer_key, subject, user_id, created_at) select 'microsoft', ?, json_extract(value, '$[1]'), json_extract(value, '$[0]'), 1 from json_each(?)").bind(tenantId, chunk),
      env.DB.prepare("insert into memberships (organization_id, user_id, role, status, created_at) select ?, json_extract(value, '$[0]'), 'member', 'active', 1 from json_each(?)").bind(CONTOSO, chunk),
    ]);
  }
}

/** Back to "nobody deactivated, no delta link" between repetitions. */
async function rewind() {
  await env.DB.batch([
    env.DB.prepare("update memberships set status = 'active', deactivated_reason = null, deactivated_at = null, deactivated_by_run = null where organization_id = ? and status = 'deactivated'").bind(CONTOSO),
    env.DB.prepare("update entra_connections set delta_link_enc = null where organization_id = ?").bind(CONTOSO),
    env.DB.prepare("delete from sync_runs"),
  ]);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function tenantOf(users: number) {
  await resetWorld();
  const { tenantId } = await connectSyntheticTenant(users);
  const directory = await directoryUsers(tenantId);
  await linkEveryone(tenantId, directory.map((u) => u.id));
  return { tenantId, directory };
}

for (const users of [1000, 10_000]) {
  it(`full_sync ${users}`, async () => {
    await tenantOf(users);
    const runs = [];
    for (let i = 0; i < 3; i++) {
      await rewind();
      runs.push(await nightly());
    }
    const wall = median(runs.map((r) => r.wallMs));
    report("full_sync", users, runs.find((r) => r.wallMs === wall)?.output ?? runs[0]!.output, wall);
  });
}

it("full_sync, delta_sync and noop_sync at 100k", async () => {
  const users = 100_000;
  const { directory } = await tenantOf(users);
  const full = await nightly();
  report("full_sync", users, full.output, full.wallMs);

  // 100 changes: 90 enabled users disabled, 10 deleted.
  const enabled = directory.filter((u) => u.accountEnabled).slice(1, 101);
  for (const [i, user] of enabled.entries()) await emulatorAdmin(`users/${user.id}/${i < 90 ? "disable" : "delete"}`);
  const delta = await nightly();
  report("delta_sync", users, delta.output, delta.wallMs);

  const noop = await nightly();
  report("noop_sync", users, noop.output, noop.wallMs);
});
