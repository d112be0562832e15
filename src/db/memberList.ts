// One page of the Users page: an organization's members in (name, user id) order, filtered by
// status, role, department and office, searched by a name or email prefix, continued from a keyset
// cursor. One statement, whose rows read grow with the page size, never with the organization:
// every scan runs along an index of migrations/0008, 0028 or 0031 from the cursor on (a few ranges of one
// index merged in order, at most) and stops at the page's LIMIT.
import { sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import type { DeactivationReason, MappableRole, MemberStatusFilter, Role } from "./schema.ts";
import { statement, type Statement } from "./statements.ts";
import { profilePageCte, standingsOf } from "./memberListProfiles.ts";

/** Where a page starts: after this (key, user id). The key is a lower-cased name or email. */
export type MemberSortKey = readonly [key: string, userId: string];

export interface MemberListQuery {
  /** A name or email prefix; empty lists everyone. */
  search: string;
  status?: MemberStatusFilter;
  role?: Role;
  /** Directory profile filters (issue 19): a department or office, whole, case-insensitive. */
  department?: string;
  office?: string;
  after?: MemberSortKey;
}

export interface RoleDecisionRow {
  role: Role;
  rule: "group" | "default" | "owner_kept" | "graph_failed";
  matchedGroups: { id: string; name: string; role: MappableRole }[];
  decidingGroup: { id: string; name: string } | null;
  graphReadAt: number | null;
  decidedAt: number;
}

export interface MemberRow {
  userId: string;
  displayName: string;
  email: string | null;
  lastSignInAt: number | null;
  role: Role;
  status: "active" | "deactivated";
  deactivatedReason: DeactivationReason | null;
  /** From the directory's profile (member_profiles), when it keeps one. */
  department: string | null;
  jobTitle: string | null;
  /** The last group → role decision (read only for Owners and Admins). */
  decision: RoleDecisionRow | null;
  /**
   * The role is the directory's (Group → Role mapping on, linked to the connected tenant, not an
   * Owner): a hand change is refused, so the page offers none. Read only for Owners and Admins.
   */
  managedByMapping: boolean;
}

export interface MemberPage {
  members: MemberRow[];
  /** Where the next page starts; absent on the last page. */
  next?: MemberSortKey;
}

/** A status filter on memberships: the reasons a deactivated status lists are standingsOf's, one table for both pages. */
function statusCondition(status: MemberStatusFilter): SQL {
  if (status === "active" || status === "deactivated") return sql`m.status = ${status}`;
  return sql`m.deactivated_reason in (${sql.join(
    standingsOf(status).map((reason) => sql`${reason}`),
    sql`, `,
  )})`;
}

/**
 * The index a name-ordered scan reads, named (INDEXED BY) because without statistics SQLite may
 * prefer memberships_by_name and test a filter row by row. A role narrows most: memberships_by_role
 * has the status before the name (migrations/0031), so a role with Active or Deactivated is one
 * range of it; a role with one deactivation reason, one of memberships_by_role_reason (0028).
 */
function nameOrderIndex(query: MemberListQuery): SQL {
  if (query.role && query.status && query.status !== "active" && query.status !== "deactivated")
    return sql.raw("memberships_by_role_reason");
  if (query.role) return sql.raw("memberships_by_role");
  if (query.status === "active" || query.status === "deactivated") return sql.raw("memberships_by_status");
  if (query.status) return sql.raw("memberships_by_reason");
  return sql.raw("memberships_by_name");
}

/**
 * The index ranges a page reads and merges in (name, user id) order, each an equality on the
 * index's columns before the name, or null when one range of nameOrderIndex's index does:
 * - a status of several deactivation reasons: one range per reason of memberships_by_reason, or
 *   with a role of memberships_by_role_reason (one reason with a role is that index's one range);
 * - a role alone: its active and its deactivated members, two ranges of memberships_by_role, so a
 *   role whose members are mostly deactivated reads no more than one whose members are active.
 * Active or Deactivated, with a role or without, is one range (memberships_by_role or _by_status).
 */
function splitRanges(query: MemberListQuery): { index: SQL; ranges: SQL[] } | null {
  const { status, role } = query;
  if (!status) {
    if (!role) return null;
    const ranges = (["active", "deactivated"] as const).map((s) => sql`m.role = ${role} and m.status = ${s}`);
    return { index: sql.raw("memberships_by_role"), ranges };
  }
  if (status === "active" || status === "deactivated") return null;
  const reasons = standingsOf(status);
  if (reasons.length === 1) return null;
  const index = sql.raw(role ? "memberships_by_role_reason" : "memberships_by_reason");
  const ranges = reasons.map((reason) => sql`${role ? sql`m.role = ${role} and ` : sql``}m.deactivated_reason = ${reason}`);
  return { index, ranges };
}

/** `column` starts with the search (folded by SQLite's lower(), as the keys were): an index range, not LIKE. */
const startsWith = (column: SQL, search: string) => sql`${column} >= lower(${search}) and ${column} < lower(${search}) || char(1114111)`;

const afterKey = (column: SQL, after: MemberSortKey | undefined) =>
  after ? sql` and (${column}, m.user_id) > (${after[0]}, ${after[1]})` : sql``;

/** What a page shows of a membership; every list index carries these columns, so no scan reads the table. */
const SHOWN = sql`m.user_id as user_id, m.role as role, m.status as status, m.deactivated_reason as deactivated_reason`;

/** Email entries read per page after a search (see pageCtes). */
const EMAIL_WINDOW = 16;

/**
 * `page`: the next `limit` members in (k, user id) order with what the list shows of them; after
 * a search also `bound`, whose row with `shown` is where the email window ended.
 *
 * Without a search: one scan of memberships_by_name from the cursor, or, with a filter, of
 * memberships_by_status / _by_role / _by_reason. EXPLAIN QUERY PLAN: `SEARCH m USING COVERING
 * INDEX memberships_by_name (organization_id=? AND (name_key,user_id)>(?,?))` (with a role and
 * Active: `... memberships_by_role (organization_id=? AND role=? AND status=? AND ...)`), in index
 * order: no temp B-tree, and the scan stops at the LIMIT. The split ranges (splitRanges: a role
 * alone, several reasons) are merged the same way: `MERGE (UNION ALL)` over one SEARCH each.
 *
 * With a search, a member is found by a name prefix or an email prefix and is listed under the
 * text that matched: the name range and the email range, merged into one (k, user id) order by a
 * compound ORDER BY that reads both in index order and stops at the LIMIT (EXPLAIN: `MERGE (UNION
 * ALL)` over `SEARCH m USING COVERING INDEX memberships_by_name (organization_id=? AND name_key>?
 * AND name_key<?)` and `SEARCH m USING COVERING INDEX memberships_by_email (organization_id=? AND
 * email_key>? AND email_key<?)`). memberships_by_email carries name_key, so a member the name
 * range lists too is skipped in the email range without reading the table. Such a run of skipped
 * entries can be long ("alice" finds Alice by name and alice.x@ by email), so the email range is
 * read at most EMAIL_WINDOW entries ahead: `bound` is the window's last entry (one more range of
 * memberships_by_email), both ranges end there (`<=` on the key is what the scans stop at), and
 * the next page starts there. When the window is not full, `bound` is the end of the prefix range.
 */
function pageCtes(organizationId: string, query: MemberListQuery, limit: number): SQL {
  const search = query.search;
  const filtered = filters(query);
  if (query.department !== undefined || query.office !== undefined) return profilePageCte(organizationId, query, limit);
  const split = splitRanges(query);
  // One name range per equality, merged in order: `in (…)` on the index made SQLite sort them all,
  // and a filter tested on another index's entries read every member of the role or reason.
  const splitRange = (range: SQL, where: SQL) =>
    sql`select ${SHOWN}, m.name_key as k from memberships m indexed by ${split?.index}
      where ${where} and ${range}${afterKey(sql`m.name_key`, query.after)}`;
  if (split && !search) {
    const ranges = split.ranges.map((range) => splitRange(range, sql`m.organization_id = ${organizationId}`));
    return sql`page as (select * from (${sql.join(ranges, sql` union all `)} order by k, user_id limit ${limit}))`;
  }
  if (!search) {
    return sql`page as (
        select ${SHOWN}, m.name_key as k from memberships m indexed by ${nameOrderIndex(query)}
        where m.organization_id = ${organizationId}${filtered}${afterKey(sql`m.name_key`, query.after)}
        order by m.name_key, m.user_id limit ${limit})`;
  }
  // From the cursor on: given both `>= lower(search)` and the cursor's row value, SQLite started the
  // scan at the search and tested the cursor entry by entry, so each page read the pages before it.
  const start = query.after ? sql`max(lower(${search}), ${query.after[0]})` : sql`lower(${search})`;
  const from = (column: SQL) => sql`m.organization_id = ${organizationId} and ${column} >= ${start}`;
  const inRange = (column: SQL) => sql`${from(column)} and ${column} < lower(${search}) || char(1114111)`;
  // The range ends at the bound: `<=` on the key alone is what the index scan stops at.
  const upTo = (column: SQL) => sql` and ${column} <= (select k from bound) and (${column}, m.user_id) <= (select k, user_id from bound)`;
  // The name range: one per split range (at most 4, with the email range the 5 terms D1 allows a
  // compound SELECT).
  const nameRanges = split
    ? split.ranges.map((range) => sql`${splitRange(range, from(sql`m.name_key`))}${upTo(sql`m.name_key`)}`)
    : [
        sql`select ${SHOWN}, m.name_key as k from memberships m indexed by ${nameOrderIndex(query)}
        where ${from(sql`m.name_key`)}${filtered}${afterKey(sql`m.name_key`, query.after)}${upTo(sql`m.name_key`)}`,
      ];
  // `bound` is the frontier when the window is full, else the end of the prefix range (not shown).
  return sql`bound as materialized (
        select k, user_id, shown from (
          select * from (select m.email_key as k, m.user_id as user_id, 1 as shown from memberships m
            where ${inRange(sql`m.email_key`)}${afterKey(sql`m.email_key`, query.after)}
            order by m.email_key, m.user_id limit 1 offset ${EMAIL_WINDOW - 1})
          union all select lower(${search}) || char(1114111), '', 0)
        order by shown desc limit 1),
      page as (
        ${sql.join(nameRanges, sql` union all `)}
        union all
        select ${SHOWN}, m.email_key as k from memberships m
        where ${from(sql`m.email_key`)}${afterKey(sql`m.email_key`, query.after)}${upTo(sql`m.email_key`)}
          and not (${startsWith(sql`m.name_key`, search)})${filtered}
        order by k, user_id limit ${limit})`;
}

/**
 * Department and job title from the users row the page reads anyway (migrations/0028 copies them
 * from member_profiles), shown only to the organization whose directory profile they are.
 */
const profileShown = (organizationId: string) =>
  sql`case when u.profile_organization_id = ${organizationId} then u.department end as department,
      case when u.profile_organization_id = ${organizationId} then u.job_title end as jobTitle`;

/**
 * Whether a listed member's role is the directory's, as roleFollowsDirectory (groupTracking.ts)
 * decides it for a hand change, without a read per member where it can: the organization's
 * connection once a page (mapping on, connected), then a member with a role decision is linked to
 * its tenant (decisions are made only for linked members, and dropped with a new tenant); only a
 * member without one costs a probe of identities_user_tenant.
 */
const managedByMapping = (organizationId: string) => {
  const mapping = sql`from entra_connections c where c.organization_id = ${organizationId} and c.status = 'connected' and c.group_role_mapping = 1`;
  return sql`case when p.role <> 'owner' and exists (select 1 ${mapping})
      and (rd.user_id is not null or exists (select 1 from identities i where i.user_id = p.user_id and i.provider = 'microsoft'
        and i.issuer_key = (select c.tenant_id ${mapping}))) then 1 else 0 end`;
};

/** The status and role filters, as conditions on `m` (a list index carries both columns). */
function filters(query: MemberListQuery): SQL {
  const conditions = [
    query.status ? statusCondition(query.status) : undefined,
    query.role ? sql`m.role = ${query.role}` : undefined,
  ].filter((c): c is SQL => c !== undefined);
  return conditions.length === 0 ? sql`` : sql` and ${sql.join(conditions, sql` and `)}`;
}

/**
 * The statement for one page of `pageSize` members and how to read its result. It finds one more
 * member than it shows, to know whether a page follows. Always the given organization: a cursor
 * only says where in that organization's list to continue.
 */
export function memberPageQuery(
  db: Db,
  organizationId: string,
  query: MemberListQuery,
  options: { pageSize: number; withDecisions: boolean },
): { statement: Statement; read(result: D1Result): MemberPage } {
  const decisionColumns = options.withDecisions
    ? sql`rd.role as decisionRole, rd.rule as decisionRule, rd.matched_groups as decisionMatchedGroups,
        rd.deciding_group as decisionDecidingGroup, rd.graph_read_at as decisionGraphReadAt, rd.decided_at as decisionDecidedAt,
        ${managedByMapping(organizationId)} as managedByMapping`
    : sql`null as decisionRole, null as decisionRule, null as decisionMatchedGroups, null as decisionDecidingGroup,
        null as decisionGraphReadAt, null as decisionDecidedAt, 0 as managedByMapping`;
  const decisionJoin = options.withDecisions
    ? sql`left join role_decisions rd on rd.organization_id = ${organizationId} and rd.user_id = p.user_id`
    : sql``;
  // The members; after a search, one more row of kind 'frontier' when the email window was full.
  // No ORDER BY: D1 counts a sort's rows as rows read, and readPage sorts the page.
  const statementSql = sql`with ${pageCtes(organizationId, query, options.pageSize + 1)}
    select 'member' as kind, p.k as sortKey, p.user_id as userId, u.display_name as displayName, u.email as email,
      u.last_sign_in_at as lastSignInAt, p.role as role, p.status as status, p.deactivated_reason as deactivatedReason,
      ${profileShown(organizationId)}, ${decisionColumns}
    from page p
    join users u on u.id = p.user_id
    ${decisionJoin}
    ${
      query.search && query.department === undefined && query.office === undefined
        ? sql`union all select 'frontier', k, user_id, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null
            from bound where shown`
        : sql``
    }`;
  return {
    statement: statement(db, statementSql),
    read: (result) => readPage(result.results as PageRow[], options.pageSize),
  };
}

/** A row as the page's statement returns it: a member's columns, flat, with the decision's. */
interface PageRow extends Omit<MemberRow, "decision" | "managedByMapping"> {
  managedByMapping: number;
  kind: "member" | "frontier";
  sortKey: string;
  decisionRole: Role | null;
  decisionRule: RoleDecisionRow["rule"] | null;
  decisionMatchedGroups: string | null;
  decisionDecidingGroup: string | null;
  decisionGraphReadAt: number | null;
  decisionDecidedAt: number | null;
}

/**
 * SQLite's BINARY order of two texts: UTF-8 bytes, which is code point order. (JavaScript's `<`
 * compares UTF-16 units, which differs past U+FFFF.)
 */
function compareText(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const diff = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (diff !== 0) return diff;
  }
}

function readPage(rows: PageRow[], pageSize: number): MemberPage {
  // Sorted here rather than by an ORDER BY, which D1 would count as one more row read per row.
  const found = rows
    .filter((row) => row.kind === "member")
    .sort((a, b) => compareText(a.sortKey, b.sortKey) || compareText(a.userId, b.userId));
  const members = found.slice(0, pageSize).map(toMember);
  const last = found[pageSize - 1];
  if (found.length > pageSize && last) return { members, next: [last.sortKey, last.userId] };
  // The email window ended before a whole page: the next page starts where it ended.
  const frontier = rows.find((row) => row.kind === "frontier");
  if (frontier) return { members, next: [frontier.sortKey, frontier.userId] };
  return { members };
}

function toMember(row: PageRow): MemberRow {
  return {
    userId: row.userId,
    displayName: row.displayName,
    email: row.email,
    lastSignInAt: row.lastSignInAt,
    role: row.role,
    status: row.status,
    deactivatedReason: row.deactivatedReason,
    department: row.department,
    jobTitle: row.jobTitle,
    managedByMapping: row.managedByMapping === 1,
    decision:
      row.decisionRole && row.decisionRule && row.decisionDecidedAt !== null
        ? {
            role: row.decisionRole,
            rule: row.decisionRule,
            matchedGroups: JSON.parse(row.decisionMatchedGroups ?? "[]") as RoleDecisionRow["matchedGroups"],
            decidingGroup: row.decisionDecidingGroup ? (JSON.parse(row.decisionDecidingGroup) as RoleDecisionRow["decidingGroup"]) : null,
            graphReadAt: row.decisionGraphReadAt,
            decidedAt: row.decisionDecidedAt,
          }
        : null,
  };
}
