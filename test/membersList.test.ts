// The Users page as a list for large organizations: search by name or email prefix, status and
// role filters, keyset pages that neither repeat nor skip anyone, bad parameters refused with a
// 400, other organizations never shown, and rows read bounded by the page size.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { loadMemberList } from "../src/people/members.ts";
import { changeListFromJson, deactivateListedMembers, reactivateListedMembers } from "../src/db/syncMembers.ts";
import type { Viewer } from "../src/context.ts";
import { createDb } from "../src/db/client.ts";
import { countingD1, emptyD1Stats } from "../src/lib/d1Stats.ts";
import { encodePageCursor } from "../src/lib/pageCursor.ts";
import { addMember, addSyntheticMembers, explainMemberList as explain, syntheticUserId } from "./support/members.ts";
import { DEMO_ORGS, DEMO_USER_IDS, linkMember, signedIn } from "./support/people.ts";
import type { TestBrowser } from "./support/browser.ts";
import { resetDemoWorld } from "./support/world.ts";

const CONTOSO = DEMO_ORGS.contoso.id;
const FABRIKAM = DEMO_ORGS.fabrikam.id;

beforeEach(resetDemoWorld);

/** The member ids a list fragment shows, in order, and its Next page link. */
async function listFragment(browser: TestBrowser, path: string) {
  const response = await browser.get(path, { "hx-request": "true" });
  const html = await response.text();
  const ids = [...html.matchAll(/<tr id="member-([0-9a-f-]+)"/g)].map((m) => m[1]!);
  const next = /<a href="([^"]+)"[^>]*rel="next"/.exec(html)?.[1]?.replaceAll("&amp;", "&");
  return { status: response.status, html, ids, next };
}

/** Every id of a list, following Next page links from `path`. */
async function walk(browser: TestBrowser, path: string, between?: (page: number) => Promise<void>) {
  const ids: string[] = [];
  let next: string | undefined = path;
  for (let page = 0; next && page < 100; page++) {
    const fragment = await listFragment(browser, next);
    expect(fragment.status).toBe(200);
    ids.push(...fragment.ids);
    next = fragment.next;
    await between?.(page);
  }
  return ids;
}

/** Contoso's member ids in the page's order: by lower-cased name, then id (SQLite's binary order). */
async function expectedOrder(where = "1 = 1", ...binds: unknown[]) {
  const rows = await env.DB.prepare(
    `select m.user_id as id from memberships m join users u on u.id = m.user_id
     where m.organization_id = ? and (${where}) order by lower(u.display_name), m.user_id`,
  )
    .bind(CONTOSO, ...binds)
    .all<{ id: string }>();
  return rows.results.map((r) => r.id);
}

describe("pages", () => {
  it("walks 130 members in pages of 50 without repeating or skipping anyone, in name order", async () => {
    await addSyntheticMembers(CONTOSO, 128, { batch: 1, domain: "contoso.example" });
    const adele = await signedIn("adele");
    const first = await listFragment(adele, "/users");
    expect(first.ids).toHaveLength(50);
    expect(first.html).not.toContain("<html");
    expect(first.next).toMatch(/^\/users\?after=[A-Za-z0-9_-]+$/);
    expect(await walk(adele, "/users")).toEqual(await expectedOrder());
  });

  it("stays stable while members are added between pages: nobody listed twice, nobody present from the start skipped", async () => {
    await addSyntheticMembers(CONTOSO, 120, { batch: 1, domain: "contoso.example" });
    const before = await expectedOrder();
    const adele = await signedIn("adele");
    let added = 0;
    const seen = await walk(adele, "/users", async () => {
      // One name sorting before every cursor, one after: the first is not shown, the second is.
      await addMember(CONTOSO, { id: syntheticUserId(9, ++added), name: `Aaron Early ${added}`, email: null });
      await addMember(CONTOSO, { id: syntheticUserId(9, ++added), name: `Zoe Late ${added}`, email: null });
    });
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of before) expect(seen).toContain(id);
    expect(seen).toContain(syntheticUserId(9, 2));
    expect(seen).not.toContain(syntheticUserId(9, 1));
  });

  it("serves the same URL as a whole page without htmx, with the filters kept in the form and the links", async () => {
    await addSyntheticMembers(CONTOSO, 160, { batch: 1, domain: "contoso.example" });
    const adele = await signedIn("adele");
    const { status, html } = await adele.page("/users?q=emma&role=member");
    expect(status).toBe(200);
    expect(html).toContain("<html");
    expect(html).toContain('<input type="search" name="q" value="emma"');
    expect(html).toMatch(/<option value="member" selected/);
    expect(html).toContain('hx-push-url="true"');
    const fragment = await listFragment(adele, "/users?q=emma&role=member");
    expect(fragment.ids.length).toBeGreaterThan(0);
    // A history restore (Back after htmx pushed the URL) needs the whole page, not the fragment.
    const restored = await adele.get("/users?q=emma", { "hx-request": "true", "hx-history-restore-request": "true" });
    expect(await restored.text()).toContain("<html");
    expect(restored.headers.get("vary")).toContain("HX-Request");
  });
});

describe("search", () => {
  beforeEach(async () => {
    await addMember(CONTOSO, { id: syntheticUserId(5, 1), name: "Zara Quinn", email: "zq@contoso.example" });
    await addMember(CONTOSO, { id: syntheticUserId(5, 2), name: "Quentin Blake", email: "quentin.blake@contoso.example" });
    await addMember(CONTOSO, { id: syntheticUserId(5, 3), name: "Ann Other", email: "quokka@contoso.example" });
    await addMember(CONTOSO, { id: syntheticUserId(5, 4), name: "Nobody Email", email: null });
  });

  it("finds a name prefix, case-insensitively, and an email prefix; someone matching both is listed once", async () => {
    const adele = await signedIn("adele");
    // "qu": Quentin by name (and by email: once), Ann by email "quokka@"; Zara's name has "Qu" only inside.
    const found = await listFragment(adele, "/users?q=QU");
    expect(found.ids.sort()).toEqual([syntheticUserId(5, 2), syntheticUserId(5, 3)].sort());
    expect((await listFragment(adele, "/users?q=zq@")).ids).toEqual([syntheticUserId(5, 1)]);
    expect((await listFragment(adele, "/users?q=adele")).ids).toEqual([DEMO_USER_IDS.adele]);
    expect((await listFragment(adele, "/users?q=nobody")).ids).toEqual([syntheticUserId(5, 4)]);
    const none = await listFragment(adele, "/users?q=xyzzy");
    expect(none.ids).toEqual([]);
    expect(none.html).toContain("No members match this search.");
    // LIKE's wildcards are plain characters here.
    expect((await listFragment(adele, "/users?q=%25")).ids).toEqual([]);
    expect((await listFragment(adele, "/users?q=_")).ids).toEqual([]);
  });

  it("pages through a search whose names and emails overlap, listing every match once", async () => {
    await addSyntheticMembers(CONTOSO, 300, { batch: 1, domain: "contoso.example" });
    // Emails that match "alice" while names do not, and names that match while emails do not.
    for (let i = 1; i <= 30; i++)
      await addMember(CONTOSO, { id: syntheticUserId(6, i), name: `Zed ${i}`, email: `alice.z${i}@contoso.example` });
    for (let i = 1; i <= 30; i++)
      await addMember(CONTOSO, { id: syntheticUserId(7, i), name: `Alice Y ${i}`, email: `y${i}@contoso.example` });
    const adele = await signedIn("adele");
    const seen = await walk(adele, "/users?q=alice");
    const expected = await expectedOrder("lower(u.display_name) like 'alice%' or lower(u.email) like 'alice%'");
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...expected].sort());
  });

  it("keeps every membership's sort keys equal to its user's name and email, however it was written", async () => {
    await signedIn("pat"); // accepts Pat's invitation: insertMembership
    await linkMember("sam", { role: "member" }); // insert or replace, without keys: the trigger
    const wrong = await env.DB.prepare(
      "select count(*) as n from memberships m join users u on u.id = m.user_id where m.name_key is not lower(u.display_name) or m.email_key is not lower(u.email)",
    ).first<number>("n");
    expect(wrong).toBe(0);
    expect(await env.DB.prepare("select count(*) as n from memberships where name_key is null").first<number>("n")).toBe(0);
  });

  it("follows a rename at once (the sort keys are kept by a trigger)", async () => {
    const adele = await signedIn("adele");
    await env.DB.prepare("update users set display_name = 'Renamed Person', email = 'renamed@contoso.example' where id = ?")
      .bind(syntheticUserId(5, 4))
      .run();
    expect((await listFragment(adele, "/users?q=renamed")).ids).toEqual([syntheticUserId(5, 4)]);
    expect((await listFragment(adele, "/users?q=nobody")).ids).toEqual([]);
  });
});

describe("filters", () => {
  it("filters by each status, including Deactivated by directory sync, and by role, alone or with a search", async () => {
    await addSyntheticMembers(CONTOSO, 520, { batch: 1, domain: "contoso.example" });
    const adele = await signedIn("adele");
    const bySync = await walk(adele, "/users?status=deactivated_by_directory_sync");
    expect(bySync).toEqual(await expectedOrder("m.deactivated_reason = 'directory_sync'"));
    expect(bySync).toHaveLength(5);
    const byHand = await walk(adele, "/users?status=deactivated_by_hand");
    expect(byHand).toEqual(await expectedOrder("m.deactivated_reason = 'by_hand'"));
    expect(byHand.length).toBeGreaterThan(0);
    // The spellings before migrations/0017, as saved links hold them, open the same lists.
    expect(await walk(adele, "/users?status=deactivated-by-sync")).toEqual(bySync);
    expect(await walk(adele, "/users?status=deactivated-by-hand")).toEqual(byHand);
    expect(await walk(adele, "/users?status=deactivated")).toEqual(await expectedOrder("m.status = 'deactivated'"));
    expect(await walk(adele, "/users?status=active")).toEqual(await expectedOrder("m.status = 'active'"));
    expect(await walk(adele, "/users?role=manager")).toEqual(await expectedOrder("m.role = 'manager'"));
    expect(await walk(adele, "/users?role=owner&status=active")).toEqual([DEMO_USER_IDS.adele]);
    const both = await walk(adele, "/users?q=emma&role=manager&status=active");
    expect([...both].sort()).toEqual(
      (
        await expectedOrder(
          "(lower(u.display_name) like 'emma%' or lower(u.email) like 'emma%') and m.role = 'manager' and m.status = 'active'",
        )
      ).sort(),
    );
    const fragment = await listFragment(adele, "/users?status=deactivated_by_directory_sync");
    expect(fragment.html).toContain("Deactivated by directory sync");
    // Empty filters (the form's "Any") are no filter.
    expect((await listFragment(adele, "/users?q=&status=&role=")).ids).toHaveLength(50);
  });
});

describe("bad parameters", () => {
  it("answers 400 with a clear message, never a server error", async () => {
    const adele = await signedIn("adele");
    const cases: [string, string][] = [
      [
        "/users?status=gone",
        "Choose a status: active, deactivated, deactivated_by_hand, deactivated_by_directory_sync, deactivated_by_scim.",
      ],
      ["/users?role=superuser", "Choose one of the roles"],
      [`/users?q=${"a".repeat(101)}`, "at most 100 characters"],
      ["/users?q=a&q=b", "Search for one name or email"],
      ["/users?after=not*base64", "page link is not valid"],
      ["/users?after=e30", "page link is not valid"], // {}
      [`/users?after=${encodePageCursor(["only a key"])}`, "page link is not valid"],
      [`/users?after=${encodePageCursor(["key", "id'; drop table users; --"])}`, "page link is not valid"],
      [`/users?after=${"A".repeat(3000)}`, "page link is not valid"],
    ];
    for (const [path, message] of cases) {
      for (const headers of [{}, { "hx-request": "true" }] as Record<string, string>[]) {
        const response = await adele.get(path, headers);
        expect(response.status, path).toBe(400);
        expect(await response.text(), path).toContain(message);
      }
    }
  });

  it("a forged cursor only moves within the viewer's own organization", async () => {
    await addSyntheticMembers(FABRIKAM, 60, { batch: 2, domain: "fabrikam.example" });
    const adele = await signedIn("adele");
    const forged = await listFragment(adele, `/users?after=${encodePageCursor(["", "0"])}`);
    expect(forged.status).toBe(200);
    expect(forged.ids.sort()).toEqual([DEMO_USER_IDS.adele, DEMO_USER_IDS.diego].sort());
    const past = await listFragment(adele, `/users?after=${encodePageCursor(["\u{10FFFF}", "f"])}`);
    expect(past.ids).toEqual([]);
    expect(past.html).toContain("No more members.");
  });
});

describe("isolation and roles", () => {
  it("never shows another organization's members, whatever the search, filter or cursor", async () => {
    await addSyntheticMembers(CONTOSO, 80, { batch: 1, domain: "contoso.example" });
    // A user in both organizations is listed by each; the rest of Contoso never in Fabrikam.
    await env.DB.prepare(
      "insert into memberships (organization_id, user_id, role, status, created_at) values (?, ?, 'viewer', 'active', 1)",
    )
      .bind(FABRIKAM, syntheticUserId(1, 3))
      .run();
    const lee = await signedIn("lee");
    expect((await walk(lee, "/users")).sort()).toEqual([DEMO_USER_IDS.lee, syntheticUserId(1, 3)].sort());
    expect(await walk(lee, "/users?q=alice")).toEqual([]);
    expect(await walk(lee, "/users?q=adele")).toEqual([]);
    expect(await walk(lee, "/users?status=deactivated_by_directory_sync")).toEqual([]);
    const contosoCursor = (await listFragment(await signedIn("adele"), "/users")).next!;
    expect((await walk(lee, contosoCursor)).every((id) => id === DEMO_USER_IDS.lee || id === syntheticUserId(1, 3))).toBe(true);
  });

  it("keeps the role checks: Viewers get 403, Members see the list without actions", async () => {
    const pat = await signedIn("pat");
    expect((await pat.get("/users?q=a", { "hx-request": "true" })).status).toBe(403);
    expect((await pat.get("/users?status=active")).status).toBe(403);
    await linkMember("sam", { role: "member" });
    const sam = await listFragment(await signedIn("sam"), "/users?q=diego");
    expect(sam.ids).toEqual([DEMO_USER_IDS.diego]);
    expect(sam.html).not.toContain("Deactivate");
    expect(sam.html).not.toContain("Save role");
    const owner = await listFragment(await signedIn("adele"), "/users?q=diego");
    expect(owner.ids).toEqual([DEMO_USER_IDS.diego]);
    expect(owner.html).toContain("Deactivate");
    expect(owner.html).toContain("Save role");
  });

  it("an htmx action re-renders the list where the viewer left it", async () => {
    await addSyntheticMembers(CONTOSO, 60, { batch: 1, domain: "contoso.example" });
    const adele = await signedIn("adele");
    await adele.page("/users");
    const target = syntheticUserId(1, 7); // a Manager
    const response = await adele.post(
      `/users/${target}/deactivate`,
      {},
      { htmx: true, headers: { "hx-current-url": "http://localhost:8787/users?role=manager" } },
    );
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("User deactivated.");
    const ids = [...html.matchAll(/<tr id="member-([0-9a-f-]+)"/g)].map((m) => m[1]!);
    expect(ids).toEqual(await expectedOrder("m.role = 'manager'"));
  });
});

describe("D1 work", () => {
  it("reads rows in proportion to the page, not the organization: one statement per page", async () => {
    await addSyntheticMembers(CONTOSO, 3000, { batch: 1, domain: "contoso.example" });
    // An Owner's page also reads each member's role decision: the most a page reads.
    await env.DB.prepare(
      "insert into role_decisions (organization_id, user_id, role, rule, decided_at) select organization_id, user_id, role, 'default', 1 from memberships where organization_id = ?",
    )
      .bind(CONTOSO)
      .run();
    const viewer = { organizationId: CONTOSO, role: "owner" } as Viewer;
    const cases = [
      { search: "" },
      { search: "alice" },
      { search: "a" },
      { search: "jun.", status: "active" as const },
      { search: "", status: "deactivated_by_directory_sync" as const },
      { search: "", status: "deactivated_by_hand" as const },
      { search: "", role: "manager" as const },
      { search: "", after: ["hana", ""] as const },
      { search: "emma", role: "manager" as const },
      { search: "", status: "active" as const, role: "member" as const },
    ];
    for (const query of cases) {
      const stats = emptyD1Stats();
      const page = await loadMemberList(createDb(countingD1(env.DB, stats)), viewer, query);
      expect(page.members.length, JSON.stringify(query)).toBeGreaterThan(0);
      expect(stats.roundTrips).toBe(1);
      expect(stats.rowsRead, JSON.stringify(query)).toBeLessThanOrEqual(200);
      // Every read of memberships is a range of a list index, never a scan of the table.
      const plan = (await explain(viewer, query)).filter((detail) => / m( |$)/.test(detail));
      expect(plan.length).toBeGreaterThan(0);
      for (const detail of plan)
        expect(detail, JSON.stringify(query)).toMatch(/^SEARCH m USING COVERING INDEX memberships_by_\w+ \(organization_id=\?/);
    }
  });
});

describe("directory sync's writes", () => {
  it("find the listed members by primary key, not through a Users page index", async () => {
    let sent: { sql: string; binds: unknown[] }[] = [];
    const capture = {
      prepare: (sql: string) => ({
        bind: (...binds: unknown[]) => {
          sent.push({ sql, binds });
          return env.DB.prepare(sql).bind(...binds);
        },
      }),
    } as unknown as D1Database;
    const db = createDb(capture);
    const list = changeListFromJson([[DEMO_USER_IDS.diego, "disabled"]]);
    for (const build of [deactivateListedMembers, reactivateListedMembers]) {
      sent = [];
      expect(build(db, { organizationId: CONTOSO, runId: "r", now: 1, list }).length).toBeGreaterThan(0);
      const update = sent.find((s) => s.sql.trim().startsWith("update memberships"))!;
      expect(update.sql).toContain("indexed by");
      const plan = await env.DB.prepare(`explain query plan ${update.sql}`)
        .bind(...update.binds)
        .all<{ detail: string }>();
      const details = plan.results.map((r) => r.detail).join("\n");
      expect(details).toMatch(
        // The key of memberships, a WITHOUT ROWID table since migrations/0027: the table itself.
        /SEARCH memberships USING PRIMARY KEY \(organization_id=\? AND user_id=\?\)/,
      );
      expect(details).not.toContain("memberships_by_");
      // Their audit rows join the listed users to memberships: by primary key too, never by
      // scanning every active member once per listed user.
      const audit = sent.find((s) => s.sql.includes("insert into audit_events"))!;
      const auditPlan = await env.DB.prepare(`explain query plan ${audit.sql}`)
        .bind(...audit.binds)
        .all<{ detail: string }>();
      const auditDetails = auditPlan.results.map((r) => r.detail).join("\n");
      expect(auditDetails).toMatch(/SEARCH m USING PRIMARY KEY \(organization_id=\? AND user_id=\?\)/);
      expect(auditDetails).not.toContain("memberships_by_");
    }
  });
});
