// mover_sync at the size (issue 19), printed, not asserted: a 1,000,000-user synthetic
// tenant in 50 groups, each mapped to Manager, every user a linked Manager of Contoso (names and
// emails as the directory has them). After a first nightly run (a full listing, which also starts
// tracking group changes), 1,000 users leave their group in the emulator; the next nightly run reads
// the users delta and the group delta, each mover's groups (20 per $batch), and lowers them to the
// default role (Member) in bounded steps. Reported: that run's roles changed, Graph requests (at the
// emulator), D1 round trips and rows read (the run's counters), the most D1 statements one step sent
// (`max_d1_queries_per_invocation`: each step is an invocation), and the app isolate's heap growth
// (scripts/bench.ts samples it: this file runs with the emulator in its own process).
import { env } from "cloudflare:test";
import { it } from "vitest";
import { mapGroup } from "../test/support/directory.ts";
import { connectContoso } from "../test/support/entra.ts";
import { emulatorAdmin } from "../test/support/emulator.ts";
import { CONTOSO, resetWorld } from "../test/sync/support.ts";
import { linkEveryone, nightly, syntheticTenant } from "./support.ts";

const USERS = 1_000_000;
const GROUPS = 50;
const CHANGES = 1_000;

it(`mover_sync at ${USERS}`, async () => {
  await resetWorld();
  const tenant = await syntheticTenant(USERS, GROUPS);
  const prefix = tenant.adminOid.slice(0, 8);
  const groupId = (g: number) => `${prefix}-5e00-4000-9000-${g.toString(16).padStart(12, "0")}`;
  for (let g = 0; g < GROUPS; g++) await mapGroup(groupId(g), `Synthetic Group ${g}`, "manager");
  await connectContoso(["auto-deprovision", "group-role-mapping"], { account: tenant.adminOid });
  await linkEveryone(tenant.tenantId, prefix, USERS, { role: "manager", names: "directory" });
  // Not the hold: this bench measures applying (mass lowering is tested in test/sync/movers.test.ts).
  await env.DB.prepare(
    "update entra_connections set hold_threshold_percent = 100, hold_threshold_minimum = 1000000000 where organization_id = ?",
  )
    .bind(CONTOSO)
    .run();
  const first = await nightly();
  if (first.output.status !== "succeeded") throw new Error(`first run ${first.output.status}`);

  // User i is in group i % 50 (emulator/src/synthetic.ts): users 1 … 1,000 leave theirs.
  for (let i = 1; i <= CHANGES; i++) {
    const oid = `${prefix}-5e00-4000-8000-${i.toString(16).padStart(12, "0")}`;
    await emulatorAdmin(`groups/${groupId(i % GROUPS)}/members/${oid}`, undefined, "DELETE");
  }
  await emulatorAdmin("stats/reset");
  const label = `mover_sync:${USERS}`;
  const { output, wallMs } = await nightly(label);
  const stats = await emulatorAdmin<{ requests: Record<string, number>; batched?: Record<string, number> }>("stats", undefined, "GET");
  const requests = Object.values(stats.requests).reduce((a, b) => a + b, 0) - Object.values(stats.batched ?? {}).reduce((a, b) => a + b, 0);
  const line = {
    scenario: "mover_sync",
    users: USERS,
    mapped_groups: GROUPS,
    membership_changes: CHANGES,
    roles_changed: output.rolesChanged,
    graph_requests: requests,
    d1_round_trips: output.d1.roundTrips,
    d1_statements: output.d1.statements,
    d1_rows_read: output.d1.rowsRead,
    d1_rows_written: output.d1.rowsWritten,
    d1_rows_read_per_change: Math.round((output.d1.rowsRead / CHANGES) * 10) / 10,
    max_d1_queries_per_invocation: output.maxD1StatementsPerStep,
    first_run_wall_ms: first.wallMs,
    wall_ms: wallMs,
    status: output.status,
  };
  console.log(`BENCH ${JSON.stringify({ ...line, rss_label: label })}`);
});
