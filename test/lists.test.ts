// The audit log and the sync run history page by keyset cursor: newest first, no event or run
// twice or skipped (also when new ones arrive), bad cursors refused with a 400, another
// organization's rows never shown, and each page one statement along its index.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { listAuditEvents } from "../src/db/audit.ts";
import { createDb } from "../src/db/client.ts";
import { listRecentRuns } from "../src/db/syncRuns.ts";
import { encodePageCursor } from "../src/lib/pageCursor.ts";
import type { TestBrowser } from "./support/browser.ts";
import { DEMO_ORGS, linkMember, signedIn } from "./support/people.ts";
import { resetDemoWorld } from "./support/world.ts";

const CONTOSO = DEMO_ORGS.contoso.id;
const FABRIKAM = DEMO_ORGS.fabrikam.id;
const RUNS = "/settings/integrations/entra/sync/runs";

beforeEach(resetDemoWorld);

async function addEvents(organizationId: string, count: number) {
  await env.DB.prepare(
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
     insert into audit_events (organization_id, actor_user_id, action, details, created_at)
     select ?, null, 'sync.run_finished', json_object('n', i), i from n`,
  )
    .bind(count, organizationId)
    .run();
}

/** Runs started at 1000 + i/3 (three runs share each millisecond), ids run-<org>-<i>. */
async function addRuns(organizationId: string, count: number, from = 1) {
  await env.DB.prepare(
    `with recursive n(i) as (select ? union all select i + 1 from n where i < ?)
     insert into sync_runs (id, organization_id, trigger, status, started_at, finished_at)
     select printf('%08x-0000-4000-8000-%012x', ?, i), ?, 'sync_now', 'succeeded', 1000 + cast(i / 3 as integer), 1001 + cast(i / 3 as integer) from n`,
  )
    .bind(from, from + count - 1, organizationId === CONTOSO ? 1 : 2, organizationId)
    .run();
}

/** Follows "next" links from `path`, collecting the `attribute` of each row. */
async function walk(browser: TestBrowser, path: string, attribute: string, between?: () => Promise<void>) {
  const seen: string[] = [];
  let next: string | undefined = path;
  for (let page = 0; next && page < 50; page++) {
    const response = await browser.get(next, { "hx-request": "true" });
    const html = await response.text();
    expect(response.status, `${next}: ${html}`).toBe(200);
    seen.push(...[...html.matchAll(new RegExp(`${attribute}="([^"]+)"`, "g"))].map((m) => m[1]!));
    next = /<a href="([^"]+)"[^>]*rel="next"/.exec(html)?.[1]?.replaceAll("&amp;", "&");
    await between?.();
  }
  return seen;
}

describe("audit log", () => {
  it("pages newest first through every event of the organization, once each, while new events arrive", async () => {
    await addEvents(CONTOSO, 130);
    await addEvents(FABRIKAM, 40);
    const expected = (
      await env.DB.prepare("select id from audit_events where organization_id = ? order by id desc").bind(CONTOSO).all<{ id: number }>()
    ).results.map((r) => String(r.id));
    const adele = await signedIn("adele");
    const seen = await walk(adele, "/audit", "data-event", () => addEvents(CONTOSO, 2));
    expect(seen).toEqual(expected);
    const page = await adele.page("/audit");
    expect(page.html).toContain("<html");
    expect(page.html).toContain('hx-push-url="true"');
  });

  it("refuses a bad cursor with a 400; a forged one stays in the viewer's organization", async () => {
    await addEvents(FABRIKAM, 10);
    const adele = await signedIn("adele");
    for (const after of ["zz*", encodePageCursor(["7"]), encodePageCursor([0]), encodePageCursor([1.5]), "A".repeat(5000)]) {
      const response = await adele.get(`/audit?after=${after}`);
      expect(response.status, after).toBe(400);
      expect(await response.text()).toContain("page link is not valid");
    }
    const forged = await adele.get(`/audit?after=${encodePageCursor([Number.MAX_SAFE_INTEGER])}`, { "hx-request": "true" });
    expect(forged.status).toBe(200);
    const html = await forged.text();
    // Contoso has no events yet; Fabrikam's ten are not shown.
    expect(html).not.toContain("data-event=");
  });

  it("is one statement along audit_events_org", async () => {
    await addEvents(CONTOSO, 300);
    const db = createDb(env.DB);
    const query = listAuditEvents(db, CONTOSO, { beforeId: 250, limit: 51 }).toSQL();
    const plan = await env.DB.prepare(`explain query plan ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join("\n");
    expect(details).toContain("audit_events USING INDEX audit_events_org (organization_id=? AND id<?)");
    expect(details).not.toContain("TEMP B-TREE");
    const result = await env.DB.prepare(query.sql)
      .bind(...query.params)
      .all();
    expect(result.results).toHaveLength(51);
    expect(result.meta.rows_read).toBeLessThanOrEqual(4 * 51);
  });
});

describe("run history", () => {
  it("pages newest first by (started at, id) through runs that share a millisecond, once each", async () => {
    await addRuns(CONTOSO, 65);
    await addRuns(FABRIKAM, 30);
    const expected = (
      await env.DB.prepare("select id from sync_runs where organization_id = ? order by started_at desc, id desc")
        .bind(CONTOSO)
        .all<{ id: string }>()
    ).results.map((r) => r.id);
    const adele = await signedIn("adele");
    const section = await (await adele.get("/settings/integrations/entra/sync", { "hx-request": "true" })).text();
    expect(section).toContain("Older runs");
    // Runs added meanwhile are newer: they do not shift the pages already cursored.
    let added = 100;
    const seen = await walk(adele, RUNS, "data-run", () => addRuns(CONTOSO, 1, ++added));
    expect(seen).toEqual(expected);
    const whole = await adele.page(RUNS);
    expect(whole.html).toContain("Directory sync history");
  });

  it("refuses bad cursors with a 400 and keeps the role and plan checks", async () => {
    const adele = await signedIn("adele");
    for (const after of ["%%%", encodePageCursor([1]), encodePageCursor(["x", "y"]), encodePageCursor([1, "a b"])]) {
      expect((await adele.get(`${RUNS}?after=${encodeURIComponent(after)}`)).status, after).toBe(400);
    }
    await linkMember("megan", { role: "manager" });
    expect((await (await signedIn("megan")).get(RUNS)).status).toBe(403);
    expect((await (await signedIn("lee")).get(RUNS)).status).toBe(403); // Fabrikam: Team plan
  });

  it("is one statement along sync_runs_org_started", async () => {
    await addRuns(CONTOSO, 100);
    const query = listRecentRuns(createDb(env.DB), CONTOSO, { limit: 21, before: [1020, "f"] }).toSQL();
    const plan = await env.DB.prepare(`explain query plan ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join("\n");
    expect(details).toContain("sync_runs USING INDEX sync_runs_org_started (organization_id=? AND (started_at,id)<(?,?))");
    expect(details).not.toContain("TEMP B-TREE");
    const result = await env.DB.prepare(query.sql)
      .bind(...query.params)
      .all();
    expect(result.results).toHaveLength(21);
    expect(result.meta.rows_read).toBeLessThanOrEqual(2 * 21);
  });
});
