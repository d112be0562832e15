// The Users page filtered by the directory profile's department or office (issue 19), with any of
// the role, status and search filters: one page read from one index of member_profiles
// (migrations/0028), whatever the filters, in the list's (name, user id) order.
//
// Each index holds the profile filter's keys, then (the `_role` ones) the member's role, then their
// standing, then the order. Each standing the status filter lists is one range (all five without
// one), merged by a compound ORDER BY that reads every range in index order and stops at the LIMIT:
// rows read are the page's plus about one per range, never the department's size, and a searched
// page's ranges start at its cursor, so page 10 reads what page 1 does. D1 allows at
// most 5 terms in a compound SELECT, hence an index without the role for pages with no role filter
// (5 roles × 5 standings would be 25 ranges). EXPLAIN QUERY PLAN: `MERGE (UNION ALL)` over `SEARCH
// mp USING COVERING INDEX member_profiles_by_department_role (organization_id=? AND
// department_key=? AND role=? AND standing=? AND (name_key,user_id)>(?,?))`.
import { sql, type SQL } from "drizzle-orm";
import { DEACTIVATION_REASONS, MEMBER_STANDINGS, type MemberStanding, type MemberStatusFilter, type Role } from "./schema.ts";

/** What a profile-filtered page is asked for (memberList.ts's MemberListQuery, with a department or an office). */
export interface ProfileListQuery {
  search: string;
  status?: MemberStatusFilter;
  role?: Role;
  department?: string;
  office?: string;
  after?: readonly [key: string, userId: string];
}

/** The standings a status filter lists. */
export function standingsOf(status: MemberStatusFilter | undefined): readonly MemberStanding[] {
  switch (status) {
    case undefined:
      return MEMBER_STANDINGS;
    case "active":
      return ["active"];
    case "deactivated":
      return DEACTIVATION_REASONS;
    case "deactivated_by_hand":
      return ["by_hand"];
    case "deactivated_by_directory_sync":
      // Left the sync scope (migrations/0023) is directory sync too.
      return ["directory_sync", "left_scope"];
    case "deactivated_by_scim":
      return ["scim"];
  }
}

/** A value of a closed list (a role, a standing), written into the SQL: never user input. */
const known = (value: string) => sql.raw(`'${value}'`);

/**
 * `page`: the next `limit` members of a profile-filtered list, as memberList.ts's page CTE names
 * its columns. The filter values are bound once, in `profile_filter`, and every range reads them
 * from there (a constant subquery: no table, no row read).
 */
export function profilePageCte(organizationId: string, query: ProfileListQuery, limit: number): SQL {
  const byDepartment = query.department !== undefined;
  const byOffice = query.office !== undefined;
  const index = sql.raw(
    `member_profiles_by_${byDepartment && byOffice ? "department_office" : byDepartment ? "department" : "office"}${query.role ? "_role" : ""}`,
  );
  const param = (name: string) => sql.raw(`(select ${name} from profile_filter)`);
  const keys = [
    sql`mp.organization_id = ${param("organization_id")}`,
    byDepartment ? sql`mp.department_key = ${param("department_key")}` : undefined,
    byOffice ? sql`mp.office_key = ${param("office_key")}` : undefined,
  ];
  const order = [
    // From the cursor on (as memberList.ts's searched ranges): given both `>= search` and the
    // cursor's row value, SQLite started each range at the search and tested the cursor entry by
    // entry, so page k read the k - 1 pages before it.
    query.search ? sql`mp.name_key >= ${param("start")} and mp.name_key < ${param("search")} || char(1114111)` : undefined,
    query.after ? sql`(mp.name_key, mp.user_id) > (${param("after_key")}, ${param("after_user")})` : undefined,
  ];
  const ranges = standingsOf(query.status).map((standing) => {
    const where = [
      ...keys,
      query.role ? sql`mp.role = ${known(query.role)}` : undefined,
      sql`mp.standing = ${known(standing)}`,
      ...order,
    ].filter((c): c is SQL => c !== undefined);
    return sql`select mp.user_id as user_id, mp.role as role, ${known(standing === "active" ? "active" : "deactivated")} as status,
        ${standing === "active" ? sql`null` : known(standing)} as deactivated_reason, mp.name_key as k
      from member_profiles mp indexed by ${index} where ${sql.join(where, sql` and `)}`;
  });
  return sql`profile_filter as not materialized (
        select ${organizationId} as organization_id, lower(${query.department ?? null}) as department_key,
          lower(${query.office ?? null}) as office_key, lower(${query.search}) as search,
          ${query.after ? sql`max(lower(${query.search}), ${query.after[0]})` : sql`lower(${query.search})`} as start,
          ${query.after?.[0] ?? null} as after_key, ${query.after?.[1] ?? null} as after_user),
      page as (
        select * from (${sql.join(ranges, sql` union all `)} order by k, user_id limit ${limit}))`;
}
