// A SCIM filter (src/scim/filter.ts's AST) as SQL over scim_users or scim_groups, for the forms an
// index answers or that cost one pass over the organization's rows: comparisons on the columns the
// tables keep (userName, externalId, id, active, meta.created, meta.lastModified; a Group's
// displayName and members.value), with and/or/not. Any other attribute (emails, name.*, the
// enterprise extension…) yields null: the caller then evaluates the filter over a bounded candidate
// set instead (src/people/scim/users.ts says the bound).
import { sql, type SQL } from "drizzle-orm";
import type { Filter } from "../scim/filter.ts";

interface Column {
  sql: SQL;
  kind: "text" | "lowerText" | "boolean" | "time";
  nullable: boolean;
}

export type ColumnMap = Record<string, Column>;

/** scim_users as `s`. userName compares through its lower-cased key (caseExact false, RFC 7643 §4.1.1). */
export const USER_COLUMNS: ColumnMap = {
  userName: { sql: sql`s.user_name_key`, kind: "lowerText", nullable: false },
  externalId: { sql: sql`s.external_id`, kind: "text", nullable: true },
  id: { sql: sql`s.user_id`, kind: "text", nullable: false },
  active: { sql: sql`s.active`, kind: "boolean", nullable: false },
  "meta.created": { sql: sql`s.created_at`, kind: "time", nullable: false },
  "meta.lastModified": { sql: sql`s.updated_at`, kind: "time", nullable: false },
};

/** scim_groups as `g`. */
export const GROUP_COLUMNS: ColumnMap = {
  displayName: { sql: sql`g.display_name_key`, kind: "lowerText", nullable: false },
  externalId: { sql: sql`g.external_id`, kind: "text", nullable: true },
  id: { sql: sql`g.id`, kind: "text", nullable: false },
  "meta.created": { sql: sql`g.created_at`, kind: "time", nullable: false },
  "meta.lastModified": { sql: sql`g.updated_at`, kind: "time", nullable: false },
};

/** Whether the filter is one `eq` on a unique key of the table (a User's userName or id): at most one match. */
export function findsOne(filter: Filter, columns: ColumnMap): boolean {
  if (filter.op !== "eq" || typeof filter.value !== "string") return false;
  const name = nameOf(filter.attribute);
  return columns === USER_COLUMNS && (name === "userName" || name === "id");
}

const ORDER = { gt: ">", ge: ">=", lt: "<", le: "<=" } as const;

/** The filter as a WHERE condition, or null when some part of it names what no column holds. */
export function filterSql(filter: Filter, columns: ColumnMap): SQL | null {
  switch (filter.op) {
    case "and":
    case "or": {
      const parts = filter.filters.map((part) => filterSql(part, columns));
      if (parts.some((part) => part === null)) return null;
      return sql`(${sql.join(parts as SQL[], filter.op === "and" ? sql` and ` : sql` or `)})`;
    }
    case "not": {
      const inner = filterSql(filter.filter, columns);
      return inner ? sql`not (${inner})` : null;
    }
    case "valuePath":
      // members[value eq "…"] (and `or` of them): a Group's member, looked up by its primary key.
      if (columns === GROUP_COLUMNS && filter.attribute.attribute === "members") return memberCondition(filter.filter);
      return null;
    case "pr": {
      const column = columns[nameOf(filter.attribute)];
      if (!column) return null;
      return column.nullable ? sql`${column.sql} is not null` : sql`1`;
    }
    default: {
      if (columns === GROUP_COLUMNS && filter.attribute.attribute === "members" && filter.attribute.subAttribute === "value") {
        return memberCondition(filter);
      }
      const column = columns[nameOf(filter.attribute)];
      if (!column) return null;
      return compare(column, filter.op, filter.value);
    }
  }
}

function nameOf(attribute: { attribute: string; subAttribute?: string }): string {
  return attribute.subAttribute ? `${attribute.attribute}.${attribute.subAttribute}` : attribute.attribute;
}

function memberCondition(filter: Filter): SQL | null {
  if (filter.op === "or") {
    const parts = filter.filters.map(memberCondition);
    return parts.some((part) => part === null) ? null : sql`(${sql.join(parts as SQL[], sql` or `)})`;
  }
  if (filter.op !== "eq" || typeof filter.value !== "string" || filter.attribute.subAttribute !== "value") return null;
  return sql`exists (select 1 from scim_group_members gm where gm.group_id = g.id and gm.user_id = ${filter.value})`;
}

type CompareOp = Exclude<Filter["op"], "and" | "or" | "not" | "valuePath" | "pr">;

function compare(column: Column, op: CompareOp, raw: string | number | boolean | null): SQL | null {
  if (column.kind === "boolean") {
    if (typeof raw !== "boolean" || (op !== "eq" && op !== "ne")) return null;
    return sql`${column.sql} ${sql.raw(op === "eq" ? "=" : "<>")} ${raw ? 1 : 0}`;
  }
  if (column.kind === "time") {
    const time = typeof raw === "string" ? Date.parse(raw) : Number.NaN;
    if (Number.isNaN(time) || op === "co" || op === "sw" || op === "ew") return null;
    if (op === "eq" || op === "ne") return sql`${column.sql} ${sql.raw(op === "eq" ? "=" : "<>")} ${time}`;
    return sql`${column.sql} ${sql.raw(ORDER[op])} ${time}`;
  }
  if (typeof raw !== "string") return null;
  const value = column.kind === "lowerText" ? raw.toLowerCase() : raw;
  const col = column.sql;
  switch (op) {
    case "eq":
      return sql`${col} = ${value}`;
    case "ne":
      // An unassigned value is not equal to anything (filterEvaluate.ts agrees).
      return column.nullable ? sql`(${col} is null or ${col} <> ${value})` : sql`${col} <> ${value}`;
    // instr and substr compare exactly (LIKE would fold ASCII case for the caseExact columns).
    case "co":
      return sql`instr(${col}, ${value}) > 0`;
    case "sw":
      return value === "" ? sql`${col} is not null` : sql`substr(${col}, 1, length(${value})) = ${value}`;
    case "ew":
      return value === "" ? sql`${col} is not null` : sql`substr(${col}, -length(${value})) = ${value}`;
    default:
      return sql`${col} ${sql.raw(ORDER[op])} ${value}`;
  }
}
