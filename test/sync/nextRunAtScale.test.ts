// "Preview the next run" at any size (issue 19): the mapping page's preview is a run of the import
// Workflow that reads the mapped groups' members page by page and decides the linked members slice
// by slice (src/entra/import/nextRunSteps.ts), so it has no size limit. 2,500 linked members of a
// synthetic tenant in two mapped groups span more than one Graph page (999 a page) and more than
// one decide step (2,000 members a step): the row's progress counts them. The Sync now that follows
// changes exactly who the preview named, from what to what.
import { env } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import type { NextRunTally } from "../../src/entra/import/nextRunSteps.ts";
import type { ImportOutput } from "../../src/entra/import/workflow.ts";
import type { TestBrowser } from "../support/browser.ts";
import { mapGroup } from "../support/directory.ts";
import { emulatorAdmin } from "../support/emulator.ts";
import { ENTRA_PAGE, connectContoso } from "../support/entra.ts";
import { CONTOSO, resetWorld, waitForRun } from "./support.ts";

const MAPPING = `${ENTRA_PAGE}/mapping`;
const USERS = 2_500;
/** Users whose role differs from what the mapping gives: raised (even: group 0, Manager) and lowered (odd: group 1, Member). */
const RAISED = [2, 4, 6];
const LOWERED = [1, 3];

beforeEach(resetWorld);

async function awaitPreview(owner: TestBrowser): Promise<string> {
  const until = Date.now() + 60_000;
  for (;;) {
    const html = await (await owner.get(`${MAPPING}/next-run`, { "hx-request": "true" })).text();
    if (!html.includes('aria-busy="true"')) return html;
    if (Date.now() > until) throw new Error(`the preview is still running: ${html.slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it(`previews the next run over ${USERS} linked members in several steps, and Sync now does what it said`, {
  timeout: 120_000,
}, async () => {
  // User i is a direct member of synthetic group i % 2 (emulator/src/synthetic.ts).
  const tenant = await emulatorAdmin<{ tenantId: string; adminOid: string; groupIds: string[] }>("synthetic-tenants", {
    users: USERS,
    groups: 2,
    consented: true,
    domain: "synthetic.example",
  });
  const prefix = tenant.adminOid.slice(0, 8);
  const owner = await connectContoso(["auto-deprovision", "group-role-mapping"], { account: tenant.adminOid });
  // Everyone linked with the name and email the directory has (the run renames nobody), and the
  // role group 0 → Manager gives them, but the few who differ.
  const numbers = `with recursive n(i) as (select 0 union all select i + 1 from n where i < ${USERS - 1})`;
  const userId = "printf('00be0c00-0000-4000-8000-%012x', i)";
  const role = `case when i in (${[...RAISED, ...LOWERED].join(",")}) then (case when i % 2 = 0 then 'member' else 'manager' end)
    when i % 2 = 0 then 'manager' else 'member' end`;
  await env.DB.batch([
    env.DB.prepare(`${numbers} insert into users (id, display_name, email, created_at)
      select ${userId}, case when i = 0 then 'Synthetic Admin' else 'Synthetic User ' || i end, 'user' || i || '@synthetic.example', 1 from n`),
    env.DB.prepare(`${numbers} insert into identities (provider, issuer_key, subject, user_id, created_at)
      select 'microsoft', ?1, printf('%s-5e00-4000-8000-%012x', ?2, i), ${userId}, 1 from n`).bind(tenant.tenantId, prefix),
    env.DB.prepare(`${numbers} insert into memberships (organization_id, user_id, role, status, created_at)
      select ?1, ${userId}, ${role}, 'active', 1 from n`).bind(CONTOSO),
  ]);
  // The mapping edit waiting for the next run: group 0 → Manager, group 1 → Member.
  await mapGroup(tenant.groupIds[0]!, "Synthetic Group 0", "manager");
  await mapGroup(tenant.groupIds[1]!, "Synthetic Group 1", "member");
  await env.DB.prepare(
    "insert into mapping_edits (organization_id, edited_version, applied_version, edited_at) values (?1, 1, 0, 1) on conflict (organization_id) do update set edited_version = edited_version + 1",
  )
    .bind(CONTOSO)
    .run();

  const started = await owner.post(`${MAPPING}/next-run`, {}, { htmx: true });
  expect(started.status).toBe(200);
  const first = await started.text();
  expect(first).toContain('hx-trigger="every 2s"');
  expect(first).toContain("<progress");
  const html = await awaitPreview(owner);
  expect(html).toContain(`The next run would change ${RAISED.length + LOWERED.length} roles, ${LOWERED.length} of them lower`);
  expect(html).toMatch(/Synthetic User 2<\/td>.*Member.*Manager.*Member of Synthetic Group 0/s);
  expect(html).toMatch(/Synthetic User 3<\/td>.*Manager.*Member.*Member of Synthetic Group 1/s);

  const row = (await env.DB.prepare("select id, status, tally from directory_imports where phase = 'next_run'").first<{
    id: string;
    status: string;
    tally: string;
  }>())!;
  expect(row.status).toBe("succeeded");
  const tally = JSON.parse(row.tally) as NextRunTally;
  // Two groups of 1,250 members: two pages each. 2,500 members: a step of 2,000, then one of 500.
  expect(tally.progress).toMatchObject({ graphPages: 4, groupsRead: 2, membersDecided: USERS, decideSteps: 2, decided: true });
  const output = (await (await env.IMPORT_WORKFLOW.get(row.id)).status()).output as ImportOutput;
  expect(output.status).toBe("succeeded");
  expect(output.maxD1StatementsPerStep).toBeLessThanOrEqual(1_000);
  // Its scratch is gone, and nothing else changed.
  expect(await env.DB.prepare("select count(*) as n from remap_matches").first<number>("n")).toBe(0);
  expect(await env.DB.prepare("select count(*) as n from run_role_changes").first<number>("n")).toBe(0);

  // Sync now decides the same people the same way.
  expect((await owner.post(`${ENTRA_PAGE}/sync/run`, {})).status).toBe(303);
  const runId = (await env.DB.prepare("select id from sync_runs where organization_id = ? and trigger = 'sync_now'")
    .bind(CONTOSO)
    .first<string>("id"))!;
  expect((await waitForRun(runId, 90_000)).status).toBe("succeeded");
  const applied = await env.DB.prepare("select user_id, from_role, to_role from run_role_changes where run_id = ? and state = 'applied'")
    .bind(runId)
    .all<{ user_id: string; from_role: string; to_role: string }>();
  const key = (c: { userId: string; from: string; to: string }) => `${c.userId} ${c.from} ${c.to}`;
  expect(applied.results.map((c) => key({ userId: c.user_id, from: c.from_role, to: c.to_role })).sort()).toEqual(
    tally.changes.map((c) => key(c)).sort(),
  );
});
