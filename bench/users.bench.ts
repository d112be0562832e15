// The Users page at 100k members (printed, not asserted): D1 round trips and rows read for the
// first page, a search, the status/role filters and every combination of the directory profile's
// department and office filters with them (issue 19), as an Owner sees them (with each member's role
// decision, the most a page reads). The list load is measured through the same D1 counter the
// sync uses; `request_d1_round_trips` is the whole htmx request through the app (the session
// lookup, then the list).
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { it } from "vitest";
import { buildApp } from "../src/app.tsx";
import { loadMemberList } from "../src/people/members.ts";
import type { Viewer } from "../src/context.ts";
import type { MemberListQuery } from "../src/db/memberList.ts";
import { createDb } from "../src/db/client.ts";
import { countingD1, emptyD1Stats } from "../src/lib/d1Stats.ts";
import { encodePageCursor } from "../src/lib/pageCursor.ts";
import { addSyntheticMembers, addSyntheticProfiles, pick } from "../test/support/members.ts";
import { DEMO_ORGS, signedIn } from "../test/support/people.ts";
import { resetDemoWorld } from "../test/support/world.ts";

const MEMBERS = 100_000;
const CONTOSO = DEMO_ORGS.contoso.id;
const app = buildApp();

const DEPARTMENTS = ["Sales", "Engineering", "Finance", "Marketing", "Support", "Legal", "People", "Operations", "Research", "Design"];
const OFFICES = ["London", "Paris", "Berlin", "Madrid", "Oslo", "Rome", "Vienna"];

/** A directory profile for each member: department by (i / 13) % 10, office by (i / 11) % 7, independent of role and status. */
const addProfiles = (organizationId: string) =>
  addSyntheticProfiles(organizationId, {
    department: pick(DEPARTMENTS, "(i / 13) % 10"),
    office: pick(OFFICES, "(i / 11) % 7"),
    jobTitle: "'Analyst'",
  });

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

it("users page at 100k members", async () => {
  await resetDemoWorld();
  // Another organization's 20k members share the tables: they must cost nothing.
  await addSyntheticMembers(DEMO_ORGS.fabrikam.id, 20_000, { batch: 2, domain: "fabrikam.example" });
  await addSyntheticMembers(CONTOSO, MEMBERS, { batch: 1, domain: "contoso.example" });
  await env.DB.prepare(
    "insert into role_decisions (organization_id, user_id, role, rule, decided_at) select organization_id, user_id, role, 'default', 1 from memberships where organization_id = ?",
  )
    .bind(CONTOSO)
    .run();
  await addProfiles(DEMO_ORGS.fabrikam.id);
  await addProfiles(CONTOSO);
  const viewer = { organizationId: CONTOSO, role: "owner" } as Viewer;
  const adele = await signedIn("adele");

  const cases: { name: string; query: MemberListQuery; url: string; page?: number }[] = [
    { name: "first_page", query: { search: "" }, url: "/users" },
    { name: "search", query: { search: "alice" }, url: "/users?q=alice" },
    {
      name: "filtered",
      query: { search: "", status: "deactivated_by_directory_sync" },
      url: "/users?status=deactivated_by_directory_sync",
    },
    { name: "filtered_and_searched", query: { search: "emma", role: "manager" }, url: "/users?q=emma&role=manager" },
    {
      name: "role_and_status",
      query: { search: "", role: "manager", status: "deactivated_by_hand" },
      url: "/users?role=manager&status=deactivated_by_hand",
    },
    {
      name: "role_and_active",
      query: { search: "", role: "manager", status: "active" },
      url: "/users?role=manager&status=active",
    },
    {
      name: "role_and_deactivated",
      query: { search: "", role: "manager", status: "deactivated" },
      url: "/users?role=manager&status=deactivated",
    },
    {
      name: "searched_role_and_deactivated",
      query: { search: "alice", role: "manager", status: "deactivated" },
      url: "/users?q=alice&role=manager&status=deactivated",
    },
    // Directory profile filters (issue 19): 10 departments of 10,000 members, 7 offices.
    { name: "department", query: { search: "", department: "Finance" }, url: "/users?department=Finance" },
    { name: "office", query: { search: "", office: "Oslo" }, url: "/users?office=Oslo" },
    { name: "department_searched", query: { search: "emma", department: "Finance" }, url: "/users?q=emma&department=Finance" },
    {
      name: "department_and_office",
      query: { search: "", department: "Finance", office: "Oslo" },
      url: "/users?department=Finance&office=Oslo",
    },
    {
      name: "department_role",
      query: { search: "", department: "Finance", role: "manager" },
      url: "/users?department=Finance&role=manager",
    },
    {
      name: "department_status",
      query: { search: "", department: "Finance", status: "deactivated_by_hand" },
      url: "/users?department=Finance&status=deactivated_by_hand",
    },
    {
      name: "office_role_status",
      query: { search: "", office: "Oslo", role: "manager", status: "deactivated_by_directory_sync" },
      url: "/users?office=Oslo&role=manager&status=deactivated_by_directory_sync",
    },
    {
      name: "department_office_role_status",
      query: { search: "", department: "Finance", office: "Oslo", role: "manager", status: "active" },
      url: "/users?department=Finance&office=Oslo&role=manager&status=active",
    },
    // Active, not Deactivated: deactivated Members named B… in Finance and Oslo are none at 100k
    // (1.4 % of 10,000 / 7 / 10), and an empty list measures no page. About 120 are active.
    {
      name: "department_office_role_status_searched",
      query: { search: "b", department: "Finance", office: "Oslo", role: "member", status: "active" },
      url: "/users?q=b&department=Finance&office=Oslo&role=member&status=active",
    },
    // The fifth page of about 1,000 Emmas in Finance: a searched page's ranges start at its cursor,
    // so it reads what the first does, not the four pages before it.
    {
      name: "department_searched_page_5",
      query: { search: "e", department: "Finance" },
      url: "/users?q=e&department=Finance",
      page: 5,
    },
  ];
  for (const { name, query: first, url: firstUrl, page: pageNumber = 1 } of cases) {
    // A later page: the pages before it are walked first, not measured.
    let after: MemberListQuery["after"];
    for (let p = 1; p < pageNumber; p++) after = (await loadMemberList(createDb(env.DB), viewer, { ...first, after })).next;
    const query = { ...first, after };
    const url = after ? `${firstUrl}&after=${encodePageCursor(after)}` : firstUrl;
    const stats = emptyD1Stats();
    const walls: number[] = [];
    let shown = 0;
    for (let i = 0; i < 5; i++) {
      const each = emptyD1Stats();
      const started = performance.now();
      const page = await loadMemberList(createDb(countingD1(env.DB, each)), viewer, query);
      walls.push(performance.now() - started);
      shown = page.members.length;
      Object.assign(stats, each);
    }
    const request = emptyD1Stats();
    const ctx = createExecutionContext();
    const response = await app.fetch(
      new Request(new URL(url, "http://localhost:8787"), { headers: { cookie: adele.cookieHeader(), "hx-request": "true" } }),
      { ...env, DB: countingD1(env.DB, request) },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const line = {
      scenario: "users_page",
      case: name,
      members: MEMBERS,
      page: pageNumber,
      shown,
      d1_round_trips: stats.roundTrips,
      d1_statements: stats.statements,
      d1_rows_read: stats.rowsRead,
      request_status: response.status,
      request_d1_round_trips: request.roundTrips,
      wall_ms: Math.round(median(walls) * 10) / 10,
    };
    console.log(`BENCH ${JSON.stringify(line)}`);
  }
});
