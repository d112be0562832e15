// The Users page's role filter with and without a status (issue 19, migrations/0031), where most
// of a role's members are deactivated: Role + Active, Role + Deactivated and a role alone list
// exactly the right members in (name, user id) order through keyset pages, searched or not, and
// each page reads at most 200 rows, where reading the role's entries in name order and testing
// each one's status read 664 index entries for a page of active Managers, and a searched page read every
// page before it (its scan started at the search, not at the cursor).
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { Viewer } from "../src/context.ts";
import type { MemberListQuery } from "../src/db/memberList.ts";
import { addSyntheticMembers, explainMemberList, walkMemberList } from "./support/members.ts";
import { DEMO_ORGS } from "./support/people.ts";
import { resetDemoWorld } from "./support/world.ts";

const CONTOSO = DEMO_ORGS.contoso.id;
const viewer = { organizationId: CONTOSO, role: "owner" } as Viewer;

beforeEach(async () => {
  await resetDemoWorld();
  await addSyntheticMembers(CONTOSO, 1_500, { batch: 1, domain: "contoso.example" });
  // Managers, 15 in 16 of them deactivated (by hand or by directory sync); ids ending in f stay Members.
  await env.DB.prepare(
    `update memberships set
       role = case when user_id like '%f' then 'member' else 'manager' end,
       status = case when user_id like '%0' then 'active' else 'deactivated' end,
       deactivated_reason = case when user_id like '%0' then null when user_id like '%1' then 'by_hand' else 'directory_sync' end,
       deactivated_at = case when user_id like '%0' then null else 1 end
     where organization_id = ? and user_id like '00000001-%'`,
  )
    .bind(CONTOSO)
    .run();
});

/** Every member a query lists, following its pages; and the rows each page read. */
const walk = (query: MemberListQuery) => walkMemberList(viewer, query, 40);

/**
 * What the list should hold, straight from memberships, in the list's order: a member found by a
 * search is listed under the name if it starts with the search, else under the email.
 */
async function expected(query: MemberListQuery): Promise<string[]> {
  const search = query.search.toLowerCase();
  const rows = await env.DB.prepare(
    `select user_id as id from (
       select user_id, role, status,
         case when substr(name_key, 1, length(?1)) = ?1 then name_key when substr(email_key, 1, length(?1)) = ?1 then email_key end as k
       from memberships where organization_id = ?2)
     where k is not null and (?3 is null or role = ?3) and (?4 is null or status = ?4)
     order by k, user_id`,
  )
    .bind(search, CONTOSO, query.role ?? null, query.status ?? null)
    .all<{ id: string }>();
  return rows.results.map((r) => r.id);
}

describe("a role whose members are mostly deactivated", () => {
  it("pages Role + Active, Role + Deactivated and the role alone, searched or not, at most 200 rows read a page", async () => {
    // Reading the managers in name order until a page of active ones: what the index without the status cost.
    const scanned = await env.DB.prepare(
      `select count(*) as n from memberships where organization_id = ?1 and role = 'manager' and (name_key, user_id) <= (
         select name_key, user_id from memberships where organization_id = ?1 and role = 'manager' and status = 'active'
         order by name_key, user_id limit 1 offset 50)`,
    )
      .bind(CONTOSO)
      .first<{ n: number }>();
    expect(scanned?.n).toBeGreaterThan(600);

    const queries: MemberListQuery[] = [
      { search: "", role: "manager", status: "active" },
      { search: "", role: "manager", status: "deactivated" },
      { search: "", role: "manager" },
      { search: "", role: "member", status: "active" },
      { search: "e", role: "manager", status: "active" },
      { search: "e", role: "manager" },
      { search: "alice", role: "manager", status: "deactivated" },
    ];
    for (const query of queries) {
      const want = await expected(query);
      const got = await walk(query);
      expect(got.ids, JSON.stringify(query)).toEqual(want);
      expect(want.length, JSON.stringify(query)).toBeGreaterThan(0);
      // Searched, the tenth page reads what the first does: each page's ranges start at its cursor.
      for (const read of got.reads) expect(read, JSON.stringify(query)).toBeLessThanOrEqual(200);
    }
    // The active Managers span two pages at least: the second is read from the cursor on, as bounded.
    expect((await walk({ search: "", role: "manager", status: "active" })).reads.length).toBeGreaterThan(1);
  });

  it("reads one range of memberships_by_role for Role + Active, and merges two for a role alone, without sorting", async () => {
    const active = (await explainMemberList(viewer, { search: "", role: "manager", status: "active" })).join("\n");
    expect(active).toMatch(/memberships_by_role \(organization_id=\? AND role=\? AND status=\?\)/);
    expect(active).not.toContain("TEMP B-TREE");

    const alone = (await explainMemberList(viewer, { search: "", role: "manager" })).join("\n");
    expect(alone).toContain("MERGE (UNION ALL)");
    expect(alone.match(/memberships_by_role \(organization_id=\? AND role=\? AND status=\?\)/g)).toHaveLength(2);
    expect(alone).not.toContain("TEMP B-TREE");

    const searched = (await explainMemberList(viewer, { search: "e", role: "manager" })).join("\n");
    expect(searched.match(/memberships_by_role \(organization_id=\? AND role=\? AND status=\? AND name_key>\?/g)).toHaveLength(2);
  });
});
