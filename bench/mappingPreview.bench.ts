// mapping_preview at the size (issue 19), printed, not asserted: a 1,000,000-user synthetic
// tenant in 50 groups, each mapped to Manager, every user a linked Manager of Contoso (bulk SQL, not
// measured). Then an edit maps the first 10 groups to Member instead, so the next run would lower
// 200,000 roles (held), and Adele presses "Preview the next run" through the route, as the page
// does: a run of the import Workflow that reads the 50 mapped groups' members (readMappedGroups, 20
// Graph pages a step) and decides every linked member 2,000 a step (src/entra/import/nextRunSteps.ts).
// Reported from the run's own counters: Graph requests, D1 round trips and rows read, the most D1
// queries any one step (an invocation) made, its steps; scripts/bench.ts samples the isolate heap
// (this file is among its memory-measured files).
import { env } from "cloudflare:test";
import { it } from "vitest";
import type { NextRunTally } from "../src/entra/import/nextRunSteps.ts";
import type { ImportOutput } from "../src/entra/import/workflow.ts";
import { mapGroup } from "../test/support/directory.ts";
import { ENTRA_PAGE, connectContoso } from "../test/support/entra.ts";
import { emulatorAdmin } from "../test/support/emulator.ts";
import { CONTOSO, resetWorld } from "../test/sync/support.ts";
import { linkEveryone, syntheticTenant } from "./support.ts";

const USERS = 1_000_000;
const GROUPS = 50;
const EDITED = 10;

it(`mapping_preview at ${USERS}`, { timeout: 900_000 }, async () => {
  await resetWorld();
  const tenant = await syntheticTenant(USERS, GROUPS);
  const prefix = tenant.adminOid.slice(0, 8);
  for (let g = 0; g < GROUPS; g++) await mapGroup(tenant.groupIds[g]!, `Synthetic Group ${g}`, g < EDITED ? "member" : "manager");
  const adele = await connectContoso(["auto-deprovision", "group-role-mapping"], { account: tenant.adminOid });
  await linkEveryone(tenant.tenantId, prefix, USERS, { role: "manager", names: "directory" });
  await env.DB.prepare(
    "insert into mapping_edits (organization_id, edited_version, applied_version, edited_at) values (?1, 1, 0, 1) on conflict (organization_id) do update set edited_version = edited_version + 1",
  )
    .bind(CONTOSO)
    .run();
  await adele.page(`${ENTRA_PAGE}/mapping`);
  await emulatorAdmin("stats/reset");

  const label = `mapping_preview:${USERS}`;
  await env.DB.prepare("select 1").first();
  console.log(`BENCH-RSS start ${label} ${Date.now()}`);
  const started = Date.now();
  const response = await adele.post(`${ENTRA_PAGE}/mapping/next-run`, {}, { htmx: true });
  if (response.status !== 200) throw new Error(`preview refused: ${response.status}`);
  const { id } = (await env.DB.prepare("select id from directory_imports where phase = 'next_run'").first<{ id: string }>())!;
  const instance = await env.IMPORT_WORKFLOW.get(id);
  let output: ImportOutput;
  for (;;) {
    const status = await instance.status();
    if (status.status === "complete") {
      output = status.output as ImportOutput;
      break;
    }
    if (status.status === "errored" || status.status === "terminated")
      throw new Error(`preview ${status.status}: ${status.error?.message}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const wallMs = Date.now() - started;
  console.log(`BENCH-RSS end ${label} ${Date.now()}`);
  const row = (await env.DB.prepare("select tally from directory_imports where id = ?").bind(id).first<{ tally: string }>())!;
  const tally = JSON.parse(row.tally) as NextRunTally;
  const stats = await emulatorAdmin<{ requests: Record<string, number>; batched?: Record<string, number> }>("stats", undefined, "GET");
  const requests = Object.values(stats.requests).reduce((a, b) => a + b, 0) - Object.values(stats.batched ?? {}).reduce((a, b) => a + b, 0);
  const line = {
    scenario: "mapping_preview",
    users: USERS,
    mapped_groups: GROUPS,
    would_change: tally.progress?.total,
    would_lower: tally.progress?.lowered,
    held: tally.progress?.held,
    listed: tally.changes.length,
    graph_pages: tally.progress?.graphPages,
    graph_requests: requests,
    d1_round_trips: output.d1.roundTrips,
    d1_rows_read: output.d1.rowsRead,
    max_d1_queries_per_invocation: output.maxD1StatementsPerStep,
    workflow_steps: output.steps,
    read_steps: tally.progress?.readSteps,
    decide_steps: tally.progress?.decideSteps,
    tally_bytes: row.tally.length,
    wall_ms: wallMs,
    status: output.status,
    rss_label: label,
  };
  console.log(`BENCH ${JSON.stringify(line)}`);
});
