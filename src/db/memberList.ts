// One page of the Users page: an organization's members in (name, user id) order, filtered by
// status and role, searched by a name or email prefix, continued from a keyset cursor. One
// statement, whose rows read grow with the page size, never with the organization: every scan
// runs along an index of migrations/0008 from the cursor on and stops at the page's LIMIT.
import { sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import type { MappableRole, MemberStatusFilter, Role } from "./schema.ts";
import { statement, type Statement } from "./statements.ts";

/** Where a page starts: after this (key, user id). The key is a lower-cased name or email. */
export type MemberSortKey = readonly [key: string, userId: string];

export interface MemberListQuery {
  /** A name or email prefix; empty lists everyone. */
  search: string;
  status?: MemberStatusFilter;
  role?: Role;
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
  deactivatedReason: "manual" | "directory_sync" | null;
  deactivatedAt: number | null;
  /** The last group → role decision (read only for Owners and Admins). */
  decision: RoleDecisionRow | null;
}

export interface MemberPage {
  members: MemberRow[];
  /** Where the next page starts; absent on the last page. */
  next?: MemberSortKey;
}

function statusCondition(status: MemberStatusFilter): SQL {
  switch (status) {
    case "active":
      return sql`m.status = 'active'`;
    case "deactivated":
      return sql`m.status = 'deactivated'`;
    case "deactivated-by-hand":
      return sql`m.deactivated_reason = 'manual'`;
    case "deactivated-by-sync":
      return sql`m.deactivated_reason = 'directory_sync'`;
  }
}

function filters(query: MemberListQuery): SQL {
  const conditions = [
    query.status ? statusCondition(query.status) : undefined,
    query.role ? sql`m.role = ${query.role}` : undefined,
  ].filter((c): c is SQL => c !== undefined);
  return conditions.length === 0 ? sql`` : sql` and ${sql.join(conditions, sql` and `)}`;
}

/** `column` starts with the search (folded by SQLite's lower(), as the keys were): an index range, not LIKE. */
const startsWith = (column: SQL, search: string) =>
  sql`${column} >= lower(${search}) and ${column} < lower(${search}) || char(1114111)`;

const afterKey = (column: SQL, after: MemberSortKey | undefined) =>
  after ? sql` and (${column}, m.user_id) > (${after[0]}, ${after[1]})` : sql``;

/**
 * The page's (user id, sort key) pairs, at most `limit`, in key order.
 *
 * Without a search: one scan of memberships_by_name from the cursor, or, with a filter, of
 * memberships_by_status / _by_role / _by_reason (EXPLAIN: `SEARCH m USING COVERING INDEX
 * memberships_by_name (organization_id=? AND (name_key,user_id)>(?,?))`, no temp B-tree).
 *
 * With a search, a member is found by a name prefix or an email prefix, and is listed under the
 * text that matched: names and emails merge into one (key, user id) order. `by_name` is a range
 * of memberships_by_name; `by_email` is a range of memberships_by_email (covering: it carries
 * name_key), which skips members the name range already lists. A run of such skipped rows could
 * be long, so the email range is read through a window of `limit` index entries (`email_window`),
 * and when that window is full, the page stops at its last entry (`frontier`): rows past it are
 * unseen, and the next page starts there. So both scans stop within `limit` entries, whatever the
 * prefix (EXPLAIN: `SEARCH m USING COVERING INDEX memberships_by_name (organization_id=? AND
 * name_key>? AND name_key<?)` and `... memberships_by_email (organization_id=? AND email_key>?
 * AND email_key<?)`; the merge sorts at most 2 × limit rows).
 */
function pageKeys(organizationId: string, query: MemberListQuery, limit: number): { ctes: SQL; hasFrontier: boolean } {
  const search = query.search;
  if (!search) {
    return {
      hasFrontier: false,
      ctes: sql`page as (
        select m.user_id as user_id, m.name_key as k from memberships m
        where m.organization_id = ${organizationId}${filters(query)}${afterKey(sql`m.name_key`, query.after)}
        order by m.name_key, m.user_id limit ${limit})`,
    };
  }
  const filtered = filters(query);
  return {
    hasFrontier: true,
    ctes: sql`by_name as (
        select m.user_id as user_id, m.name_key as k from memberships m
        where m.organization_id = ${organizationId} and ${startsWith(sql`m.name_key`, search)}${filtered}${afterKey(sql`m.name_key`, query.after)}
        order by m.name_key, m.user_id limit ${limit}),
      email_window as (
        select m.user_id as user_id, m.email_key as k, m.name_key as name_key from memberships m
        where m.organization_id = ${organizationId} and ${startsWith(sql`m.email_key`, search)}${afterKey(sql`m.email_key`, query.after)}
        order by m.email_key, m.user_id limit ${limit}),
      frontier as (
        select k, user_id from email_window where (select count(*) from email_window) = ${limit}
        order by k desc, user_id desc limit 1),
      by_email as (
        select w.user_id as user_id, w.k as k from email_window w
        ${query.status || query.role ? sql`join memberships m on m.organization_id = ${organizationId} and m.user_id = w.user_id` : sql``}
        where not (${startsWith(sql`w.name_key`, search)})${filtered}),
      page as (
        select user_id, k from (select user_id, k from by_name union all select user_id, k from by_email) merged
        where not exists (select 1 from frontier f where (merged.k, merged.user_id) > (f.k, f.user_id))
        order by k, user_id limit ${limit})`,
  };
}

/**
 * The statement for one page of `pageSize` members (it reads one more key, to know whether a page
 * follows) and how to read its result. Always the given organization: a cursor only says where in
 * that organization's list to continue.
 */
export function memberPageQuery(
  db: Db,
  organizationId: string,
  query: MemberListQuery,
  options: { pageSize: number; withDecisions: boolean },
): { statement: Statement; read(result: D1Result): MemberPage } {
  const limit = options.pageSize + 1;
  const { ctes, hasFrontier } = pageKeys(organizationId, query, limit);
  const decisionColumns = options.withDecisions
    ? sql`rd.role as decisionRole, rd.rule as decisionRule, rd.matched_groups as decisionMatchedGroups,
        rd.deciding_group as decisionDecidingGroup, rd.graph_read_at as decisionGraphReadAt, rd.decided_at as decisionDecidedAt`
    : sql`null as decisionRole, null as decisionRule, null as decisionMatchedGroups, null as decisionDecidingGroup,
        null as decisionGraphReadAt, null as decisionDecidedAt`;
  const decisionJoin = options.withDecisions
    ? sql`left join role_decisions rd on rd.organization_id = ${organizationId} and rd.user_id = p.user_id`
    : sql``;
  // The members, then (after a search) the frontier as one more row of kind 'frontier'.
  const query_ = sql`with ${ctes}
    select 'member' as kind, p.k as sortKey, p.user_id as userId, u.display_name as displayName, u.email as email,
      u.last_sign_in_at as lastSignInAt, m.role as role, m.status as status, m.deactivated_reason as deactivatedReason,
      m.deactivated_at as deactivatedAt, ${decisionColumns}
    from page p
    join memberships m on m.organization_id = ${organizationId} and m.user_id = p.user_id
    join users u on u.id = p.user_id
    ${decisionJoin}
    ${hasFrontier
      ? sql`union all select 'frontier', k, user_id, null, null, null, null, null, null, null, null, null, null, null, null, null from frontier`
      : sql``}
    order by kind desc, sortKey, userId`;
  return {
    statement: statement(db, query_),
    read: (result) => readPage(result.results as PageRow[], options.pageSize),
  };
}

interface PageRow {
  kind: "member" | "frontier";
  sortKey: string;
  userId: string;
  displayName: string;
  email: string | null;
  lastSignInAt: number | null;
  role: Role;
  status: "active" | "deactivated";
  deactivatedReason: "manual" | "directory_sync" | null;
  deactivatedAt: number | null;
  decisionRole: Role | null;
  decisionRule: RoleDecisionRow["rule"] | null;
  decisionMatchedGroups: string | null;
  decisionDecidingGroup: string | null;
  decisionGraphReadAt: number | null;
  decisionDecidedAt: number | null;
}

function readPage(rows: PageRow[], pageSize: number): MemberPage {
  const frontierRow = rows.find((row) => row.kind === "frontier");
  // In SQLite's order (binary strings), members first: JavaScript compares strings otherwise.
  const found = rows.filter((row) => row.kind === "member");
  const members = found.slice(0, pageSize).map(toMember);
  const last = found[pageSize - 1];
  if (found.length > pageSize && last) return { members, next: [last.sortKey, last.userId] };
  // Fewer than a page before the email window's end: the next page starts at that end.
  if (frontierRow) return { members, next: [frontierRow.sortKey, frontierRow.userId] };
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
    deactivatedAt: row.deactivatedAt,
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
