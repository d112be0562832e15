// Import at scale (issue 20), printed, not asserted: a 1M-user synthetic tenant (every 100th user
// disabled) of which Contoso already has 90 % as linked members (bulk SQL, not measured); the other
// 10 % (user i with i % 10 = 5) are new. Adele previews "All users" and applies that preview
// through the routes, as the page does; each is a run of the import Workflow, one Graph page a step
// (1,000 pages of 999), and the apply adds the new people in write steps of at most 800 D1 queries.
// Reported from the apply's own counters: Graph requests, D1 round trips, the most D1 queries any
// one step (an invocation) made; the preview's beside them. scripts/bench.ts samples the isolate
// heap over both (this file is among its memory-measured files).
import { env } from "cloudflare:test";
import { it } from "vitest";
import type { ImportOutput } from "../src/entra/import/workflow.ts";
import { connectSyntheticTenant, previewIdOf, postImport } from "../test/support/imports.ts";
import { resetWorld } from "../test/sync/support.ts";
import { linkEveryone } from "./support.ts";

const USERS = 1_000_000;
const NEW_EVERY = 10;

/** Waits for the organization's running import to end; returns its Workflow output and wall time. */
async function finished(): Promise<{ output: ImportOutput; wallMs: number; id: string }> {
  const started = Date.now();
  const { id } = (await env.DB.prepare("select id from directory_imports order by started_at desc limit 1").first<{ id: string }>())!;
  const instance = await env.IMPORT_WORKFLOW.get(id);
  for (;;) {
    const status = await instance.status();
    if (status.status === "complete") return { output: status.output as ImportOutput, wallMs: Date.now() - started, id };
    if (status.status === "errored" || status.status === "terminated") throw new Error(`import ${status.status}: ${status.error?.message}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

it(`import at ${USERS}`, { timeout: 900_000 }, async () => {
  await resetWorld();
  const { adele, tenant } = await connectSyntheticTenant(USERS);
  await linkEveryone(tenant.tenantId, tenant.adminOid.slice(0, 8), USERS, { names: "directory", newEvery: NEW_EVERY });
  await adele.page("/settings/integrations/entra");

  await env.DB.prepare("select 1").first();
  console.log(`BENCH-RSS start import:${USERS} ${Date.now()}`);
  await postImport(adele, "preview", [["scope", "all"]]);
  const preview = await finished();
  const progress = await (await adele.get("/settings/integrations/entra/import/progress", { "hx-request": "true" })).text();
  await postImport(adele, "apply", [["preview", previewIdOf(progress)]]);
  const apply = await finished();
  console.log(`BENCH-RSS end import:${USERS} ${Date.now()}`);
  await (await env.IMPORT_WORKFLOW.get(preview.id)).terminate().catch(() => undefined);

  const line = {
    scenario: "import",
    users: USERS,
    new_in_directory: apply.output.tally.counts.new,
    imported: apply.output.added,
    users_read: apply.output.usersRead,
    graph_requests: apply.output.graphRequests,
    d1_round_trips: apply.output.d1.roundTrips,
    d1_rows_written: apply.output.d1.rowsWritten,
    max_d1_queries_per_invocation: apply.output.maxD1StatementsPerStep,
    workflow_steps: apply.output.steps,
    preview_workflow_steps: preview.output.steps,
    wall_ms: apply.wallMs,
    status: apply.output.status,
    preview_graph_requests: preview.output.graphRequests,
    preview_d1_round_trips: preview.output.d1.roundTrips,
    preview_max_d1_queries_per_invocation: preview.output.maxD1StatementsPerStep,
    preview_wall_ms: preview.wallMs,
    rss_label: `import:${USERS}`,
  };
  console.log(`BENCH ${JSON.stringify(line)}`);
});
