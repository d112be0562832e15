// A sync scope change previewed at any size (issue 20): a directory of more than 100,000 users,
// which the scope preview used to refuse (it read the directory in the request, at most 100,000
// users), is previewed by a run of the import Workflow page by page; the section polls its
// progress (a reload shows it too), then shows who would be added, deactivated and reactivated, and no step passes
// Workers' 1,000 D1 queries. Nothing changes until Save. The emulator's synthetic tenant computes
// its users from their index, so the directory costs the test no setup.
import { env } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import type { ImportOutput } from "../src/entra/import/workflow.ts";
import { postForm } from "./events/support.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { connectSyntheticTenant } from "./support/imports.ts";
import { linkMember } from "./support/people.ts";
import { SCOPE, awaitScopePreview, previewScope, scopeFields } from "./support/scope.ts";
import { ENTRA_PAGE, connectContoso } from "./support/entra.ts";
import { CONTOSO_TENANT_ID } from "../demo/directory.ts";
import { DEMO_ORGS } from "../demo/seed.ts";
import { resetDemoWorld } from "./support/world.ts";

const USERS = 100_500;

beforeEach(resetDemoWorld);

function countOf(html: string, kind: string): number {
  const match = new RegExp(`data-scope-change="${kind}"><th>[^<]*</th><td class="count">(\\d+)</td>`).exec(html);
  if (!match) throw new Error(`no ${kind} count in ${html.slice(0, 400)}`);
  return Number(match[1]);
}

it(`previews a scope change over a ${USERS}-user directory, past the old 100,000 cap, with its progress shown`, {
  timeout: 240_000,
}, async () => {
  const { adele, tenant } = await connectSyntheticTenant(USERS);
  // Members linked to the tenant whom the directory no longer lists: outside any scope it has, so
  // they would leave it. Adele is linked to Contoso's own tenant, not this one.
  const gone = await Promise.all(
    ["Gina Gone", "Hal Gone", "Ivy Gone", "Lou Gone"].map((name) =>
      linkMember({ issuer: tenant.tenantId, subject: crypto.randomUUID(), name, email: null }),
    ),
  );

  // Graph answers the first 8 pages slowly (2.4 s), so the test sees the preview part-way at 1 s.
  await emulatorAdmin("faults", { endpoint: "users", delayMs: 300, times: 8 });
  const started = await postForm(adele, `${SCOPE}/preview`, scopeFields("domains", ["synthetic.example"]));
  expect(started.status).toBe(200);
  const first = await started.text();
  expect(first).toContain('hx-get="/settings/integrations/entra/scope/preview/progress"');
  expect(first).toContain('hx-trigger="every 2s"');
  expect(first).toContain("<progress");
  // Part-way, a reload of the section shows the running preview's progress, read from its row.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const section = await (await adele.get(SCOPE, { "hx-request": "true" })).text();
  expect(section).toContain('aria-busy="true"');
  const read = Number(/data-count="read">(\d+)</.exec(section)?.[1] ?? "-1");
  expect(read).toBeGreaterThanOrEqual(0);
  expect(read).toBeLessThan(USERS);

  const html = await awaitScopePreview(adele, 220_000);
  expect(html).toContain(`${USERS} directory users read`);
  // Every 100th user is disabled; everyone else enabled in synthetic.example is not a member yet.
  expect(countOf(html, "added")).toBe(USERS - Math.floor(USERS / 100));
  expect(html).toContain("Synthetic User 1,");
  expect(countOf(html, "deactivated")).toBe(4);
  expect(html).toContain("Gina Gone");
  expect(countOf(html, "reactivated")).toBe(0);
  expect(html).toContain("Apply this scope");

  const { id } = (await env.DB.prepare("select id from directory_imports where phase = 'scope'").first<{ id: string }>())!;
  const output = (await (await env.IMPORT_WORKFLOW.get(id)).status()).output as ImportOutput;
  expect(output.usersRead).toBe(USERS);
  expect(output.maxD1StatementsPerStep).toBeLessThanOrEqual(1_000);
  // A preview changes nobody and leaves no scratch rows.
  expect(await env.DB.prepare("select count(*) as n from directory_import_people").first<number>("n")).toBe(0);
  for (const { userId } of gone) {
    expect(await env.DB.prepare("select status from memberships where user_id = ?").bind(userId).first<string>("status")).toBe("active");
  }
});

it("judges more linked members than one step takes (20,000), each once, across steps", { timeout: 120_000 }, async () => {
  const adele = await connectContoso();
  await adele.page(ENTRA_PAGE);
  // 20,500 members linked to Contoso's tenant whom the directory does not list: all outside any scope.
  const linked = 20_500;
  const numbers = `with recursive n(i) as (select 1 union all select i + 1 from n where i < ${linked})`;
  await env.DB.batch([
    env.DB.prepare(`${numbers} insert into users (id, email, display_name, created_at) select 'gone-' || i, null, 'Gone ' || i, 1 from n`),
    env.DB.prepare(
      `${numbers} insert into identities (provider, issuer_key, subject, user_id, created_at) select 'microsoft', ?, 'oid-gone-' || i, 'gone-' || i, 1 from n`,
    ).bind(CONTOSO_TENANT_ID),
    env.DB.prepare(
      `${numbers} insert into memberships (organization_id, user_id, role, status, created_at) select ?, 'gone-' || i, 'member', 'active', 1 from n`,
    ).bind(DEMO_ORGS.contoso.id),
  ]);
  const { html } = await previewScope(adele, scopeFields("domains", ["contoso.example", "contoso-uk.example"]), 100_000);
  expect(countOf(html, "deactivated")).toBe(linked);
  expect(html).toContain("Gone 1,");
  const { id } = (await env.DB.prepare("select id from directory_imports where phase = 'scope'").first<{ id: string }>())!;
  const output = (await (await env.IMPORT_WORKFLOW.get(id)).status()).output as ImportOutput;
  expect(output.maxD1StatementsPerStep).toBeLessThanOrEqual(1_000);
});
