// The Users page's department and office filters with the role, status and search filters
// (issue 19, migrations/0028): every combination lists exactly the members it should, in name
// order, through keyset pages, reading a bounded number of rows (a searched page as many as the
// first, its ranges started at the cursor, not at the search); member_profiles' role and standing
// follow the membership whoever changes it; a profile's department and job title show only to its
// organization.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { loadMemberList } from "../src/people/members.ts";
import type { Viewer } from "../src/context.ts";
import type { MemberListQuery } from "../src/db/memberList.ts";
import { createDb } from "../src/db/client.ts";
import { addSyntheticMembers, addSyntheticProfiles, explainMemberList, walkMemberList } from "./support/members.ts";
import { DEMO_ORGS } from "./support/people.ts";
import { resetDemoWorld } from "./support/world.ts";

const CONTOSO = DEMO_ORGS.contoso.id;
const FABRIKAM = DEMO_ORGS.fabrikam.id;
const viewer = { organizationId: CONTOSO, role: "owner" } as Viewer;

beforeEach(resetDemoWorld);

/** Profiles for an organization's synthetic members: 3 departments by i % 3, 2 offices by (i / 3) % 2 (written as "Oslo" or "OSLO"). */
const addProfiles = (organizationId: string) =>
  addSyntheticProfiles(
    organizationId,
    {
      department: "case i % 3 when 0 then 'Sales' when 1 then 'Finance' else 'Legal' end",
      office: "case (i / 3) % 2 when 0 then 'Oslo' else 'OSLO ' || (i % 2) end",
      jobTitle: "'Analyst ' || i",
    },
    "0000000",
  );

/** Every member a query lists, following its pages; and the rows each page read. */
const walk = (query: MemberListQuery) => walkMemberList(viewer, query, 50);

/** What the list should hold: the same filters straight from memberships and member_profiles, in (name, id) order. */
async function expected(query: MemberListQuery) {
  const reasons: Record<string, string[]> = {
    active: [],
    deactivated: ["by_hand", "directory_sync", "scim", "left_scope"],
    deactivated_by_hand: ["by_hand"],
    deactivated_by_directory_sync: ["directory_sync", "left_scope"],
    deactivated_by_scim: ["scim"],
  };
  const rows = await env.DB.prepare(
    `select m.user_id as id, m.role, m.status, m.deactivated_reason as reason, p.department_key, p.office_key, p.name_key
     from memberships m join member_profiles p on p.organization_id = m.organization_id and p.user_id = m.user_id
     where m.organization_id = ? order by p.name_key, m.user_id`,
  )
    .bind(CONTOSO)
    .all<{
      id: string;
      role: string;
      status: string;
      reason: string | null;
      department_key: string;
      office_key: string;
      name_key: string;
    }>();
  return rows.results
    .filter(
      (r) =>
        (query.department === undefined || r.department_key === query.department.toLowerCase()) &&
        (query.office === undefined || r.office_key === query.office.toLowerCase()) &&
        (query.role === undefined || r.role === query.role) &&
        (query.status === undefined ||
          (query.status === "active" ? r.status === "active" : reasons[query.status]!.includes(r.reason ?? ""))) &&
        r.name_key.startsWith(query.search.toLowerCase()),
    )
    .map((r) => r.id);
}

describe("department and office filters", () => {
  it("list exactly the matching members in name order, through pages, within 200 rows a page, for every combination", async () => {
    // 700 members: every 7th a Manager, every 100th deactivated by directory sync, every 250th by hand.
    await addSyntheticMembers(CONTOSO, 700, { batch: 1, domain: "contoso.example" });
    await addProfiles(CONTOSO);
    // Another organization's members with the same departments: never listed.
    await addSyntheticMembers(FABRIKAM, 300, { batch: 2, domain: "fabrikam.example" });
    const places = [{ department: "Finance" }, { office: "oslo" }, { department: "sales", office: "OSLO 1" }];
    const filters: Omit<MemberListQuery, "search">[] = [
      {},
      { role: "manager" },
      { status: "active" },
      { status: "deactivated" },
      { status: "deactivated_by_directory_sync" },
      { role: "member", status: "deactivated_by_hand" },
      { role: "manager", status: "deactivated" },
    ];
    let checked = 0;
    for (const place of places) {
      for (const filter of filters) {
        for (const search of ["", "emma", "b"]) {
          const query = { search, ...place, ...filter };
          const want = await expected(query);
          const got = await walk(query);
          expect(got.ids, JSON.stringify(query)).toEqual(want);
          for (const read of got.reads) expect(read, JSON.stringify(query)).toBeLessThanOrEqual(200);
          if (want.length > 0) checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(30);
  });

  it("follow a member's role and standing whoever changes them, and show a profile only to its organization", async () => {
    await addSyntheticMembers(CONTOSO, 30, { batch: 1, domain: "contoso.example" });
    await addProfiles(CONTOSO);
    const [someone] = await expected({ search: "", department: "Finance", role: "member", status: "active" });
    expect(someone).toBeDefined();
    // A run (or an Undo, SCIM, a hand change) writes memberships; the profile's copy follows.
    await env.DB.prepare(
      "update memberships set role = 'admin', status = 'deactivated', deactivated_reason = 'scim', deactivated_at = 1 where organization_id = ? and user_id = ?",
    )
      .bind(CONTOSO, someone)
      .run();
    expect((await walk({ search: "", department: "Finance", role: "admin", status: "deactivated_by_scim" })).ids).toEqual([someone]);
    expect((await walk({ search: "", department: "Finance", role: "member" })).ids).not.toContain(someone);

    // Department and job title come with the users row, for the profile's organization only.
    const shown = await loadMemberList(createDb(env.DB), viewer, { search: "", department: "Finance", role: "admin" });
    expect(shown.members[0]).toMatchObject({ userId: someone, department: "Finance" });
    expect(shown.members[0]!.jobTitle).toMatch(/^Analyst \d+$/);
    await env.DB.prepare(
      "insert into memberships (organization_id, user_id, role, status, created_at) values (?, ?, 'member', 'active', 1)",
    )
      .bind(FABRIKAM, someone)
      .run();
    const elsewhere = await loadMemberList(createDb(env.DB), { organizationId: FABRIKAM, role: "owner" } as Viewer, { search: "" });
    const there = elsewhere.members.find((m) => m.userId === someone);
    expect(there).toMatchObject({ department: null, jobTitle: null });

    // A new department in the directory shows on the list at once.
    await env.DB.prepare(
      "update member_profiles set department = 'Treasury', department_key = 'treasury' where organization_id = ? and user_id = ?",
    )
      .bind(CONTOSO, someone)
      .run();
    const moved = await loadMemberList(createDb(env.DB), viewer, { search: "", department: "treasury" });
    expect(moved.members.map((m) => [m.userId, m.department])).toEqual([[someone, "Treasury"]]);
  });
});

describe("a role with a deactivation status, searched", () => {
  it("reads a name range of memberships_by_role_reason per reason, not every member of the role", async () => {
    await addSyntheticMembers(CONTOSO, 700, { batch: 1, domain: "contoso.example" });
    for (const other of [
      { search: "e", role: "manager", status: "deactivated" },
      { search: "a", status: "deactivated_by_directory_sync" },
      { search: "b", role: "member", status: "deactivated_by_directory_sync" },
    ] as const) {
      const both = await env.DB.prepare(
        `select m.user_id as id, m.name_key, m.email_key, m.role, m.deactivated_reason as reason from memberships m where m.organization_id = ?`,
      )
        .bind(CONTOSO)
        .all<{ id: string; name_key: string; email_key: string; role: string; reason: string | null }>();
      const reasons =
        other.status === "deactivated" ? ["by_hand", "directory_sync", "scim", "left_scope"] : ["directory_sync", "left_scope"];
      const expectedIds = both.results
        .filter(
          (r) =>
            reasons.includes(r.reason ?? "") &&
            (!("role" in other) || r.role === other.role) &&
            (r.name_key.startsWith(other.search) || r.email_key.startsWith(other.search)),
        )
        .map((r) => r.id)
        .sort();
      const got = await walk(other);
      expect([...got.ids].sort(), JSON.stringify(other)).toEqual(expectedIds);
      expect(new Set(got.ids).size).toBe(got.ids.length);
      for (const read of got.reads) expect(read).toBeLessThanOrEqual(200);
    }
    const query: MemberListQuery = { search: "e", role: "manager", status: "deactivated_by_hand" };
    const listed = await walk(query);
    const want = await env.DB.prepare(
      `select m.user_id as id from memberships m where m.organization_id = ? and m.role = 'manager' and m.deactivated_reason = 'by_hand'
         and (m.name_key like 'e%' or m.email_key like 'e%') order by m.name_key, m.user_id`,
    )
      .bind(CONTOSO)
      .all<{ id: string }>();
    expect(listed.ids).toEqual(want.results.map((r) => r.id));
    const plan = await explainMemberList(viewer, query);
    expect(plan.join("\n")).toMatch(
      /memberships_by_role_reason \(organization_id=\? AND role=\? AND deactivated_reason=\? AND name_key>\? AND name_key<\?\)/,
    );
  });
});

describe("a searched department or office list, page after page", () => {
  it("starts each page's ranges at the cursor: page 10 reads what page 1 does, within 200 rows", { timeout: 60_000 }, async () => {
    // 5,000 members, all in Finance, half in Oslo: "e" (every Emma) is 500 members, 10 pages.
    await addSyntheticMembers(CONTOSO, 5_000, { batch: 1, domain: "contoso.example" });
    await addSyntheticProfiles(
      CONTOSO,
      { department: "'Finance'", office: "case i % 2 when 0 then 'Oslo' else 'Bergen' end" },
      "00000001-",
    );
    const queries: MemberListQuery[] = [
      { search: "e", department: "Finance" },
      { search: "e", office: "oslo", status: "active" },
      { search: "e", department: "finance", office: "Oslo", role: "member", status: "active" },
    ];
    for (const query of queries) {
      const want = await expected(query);
      const got = await walk(query);
      expect(got.ids, JSON.stringify(query)).toEqual(want);
      expect(got.reads.length, JSON.stringify(query)).toBeGreaterThanOrEqual(5);
      // Before: 106, 156, 206, … 455 rows for "e" in Finance (each page read the pages before it).
      for (const read of got.reads) expect(read, JSON.stringify(query)).toBeLessThanOrEqual(200);
      // Every full page reads about what the first does (the last, shorter page reads less).
      const full = got.reads.slice(0, -1);
      expect(Math.max(...full) - Math.min(...full), JSON.stringify(query)).toBeLessThanOrEqual(20);
    }
    const plan = (await explainMemberList(viewer, { search: "e", department: "Finance", after: ["emma", "0"] })).join("\n");
    expect(plan).toContain("MERGE (UNION ALL)");
    expect(plan).toMatch(
      /member_profiles_by_department \(organization_id=\? AND department_key=\? AND standing=\? AND name_key>\? AND name_key<\?\)/,
    );
    expect(plan).not.toContain("TEMP B-TREE");
  });
});
