// Many members at once, for list tests and the Users page benchmark: a recursive CTE numbers the
// rows inside D1, so 100k members take three statements, not 100k.
import { env } from "cloudflare:test";
import type { DeactivationReason } from "../../src/db/schema.ts";
import type { Viewer } from "../../src/context.ts";
import { createDb } from "../../src/db/client.ts";
import { loadMemberList } from "../../src/people/members.ts";
import type { MemberListQuery } from "../../src/db/memberList.ts";
import { countingD1, emptyD1Stats } from "../../src/lib/d1Stats.ts";

const FIRST = ["Alice", "Bruno", "Chloé", "Dmitri", "Emma", "Farah", "Goran", "Hana", "Ivan", "Jun"];
const LAST = ["Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen"];

export const pick = (names: string[], index: string) =>
  `(case ${index} ${names.map((name, i) => `when ${i} then '${name}'`).join(" ")} end)`;

/** User ids of a synthetic batch: `batch` keeps batches apart, `i` numbers the rows from 1. */
export const syntheticUserId = (batch: number, i: number) =>
  `${batch.toString(16).padStart(8, "0")}-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;

/**
 * `count` users named "<First> <Last> <i>" with email "<first>.<last>.<i>@<domain>", members of
 * `organizationId`: every 7th a Manager, every 100th deactivated by directory sync and every
 * 250th (when not already) deactivated by hand; the rest active Members.
 */
export async function addSyntheticMembers(organizationId: string, count: number, options: { batch: number; domain: string }) {
  const numbers = `with recursive n(i) as (select 1 union all select i + 1 from n where i < ${Math.floor(count)})`;
  const id = `printf('%08x-0000-4000-8000-%012x', ${options.batch}, i)`;
  const first = pick(FIRST, "i % 10");
  const last = pick(LAST, "(i / 10) % 10");
  await env.DB.batch([
    env.DB.prepare(`${numbers} insert into users (id, email, display_name, created_at)
      select ${id}, lower(${first} || '.' || ${last} || '.' || i) || '@' || ?, ${first} || ' ' || ${last} || ' ' || i, 1 from n`).bind(
      options.domain,
    ),
    env.DB.prepare(`${numbers} insert into memberships (organization_id, user_id, role, status, deactivated_reason, deactivated_at, created_at)
      select ?, ${id}, case when i % 7 = 0 then 'manager' else 'member' end,
        case when i % 100 = 0 or i % 250 = 0 then 'deactivated' else 'active' end,
        case when i % 100 = 0 then 'directory_sync' when i % 250 = 0 then 'by_hand' end,
        case when i % 100 = 0 or i % 250 = 0 then 1 end, 1 from n`).bind(organizationId),
  ]);
}

/** One member with a chosen name and email (and optionally role and status). */
export async function addMember(
  organizationId: string,
  member: { id: string; name: string; email: string | null; role?: string; reason?: DeactivationReason },
) {
  await env.DB.batch([
    env.DB.prepare("insert into users (id, email, display_name, created_at) values (?, ?, ?, 1)").bind(
      member.id,
      member.email,
      member.name,
    ),
    env.DB.prepare(
      "insert into memberships (organization_id, user_id, role, status, deactivated_reason, deactivated_at, created_at) values (?, ?, ?, ?, ?, ?, 1)",
    ).bind(
      organizationId,
      member.id,
      member.role ?? "member",
      member.reason ? "deactivated" : "active",
      member.reason ?? null,
      member.reason ? 1 : null,
    ),
  ]);
}

/** EXPLAIN QUERY PLAN of the statement loadMemberList sends. */
export async function explainMemberList(viewer: Viewer, query: Parameters<typeof loadMemberList>[2]): Promise<string[]> {
  let sent: { sql: string; binds: unknown[] } | undefined;
  const capture = {
    prepare: (sql: string) => ({
      bind: (...binds: unknown[]) => {
        sent = { sql, binds };
        return env.DB.prepare(sql).bind(...binds);
      },
    }),
    batch: (statements: D1PreparedStatement[]) => env.DB.batch(statements),
  } as unknown as D1Database;
  await loadMemberList(createDb(capture), viewer, query);
  const plan = await env.DB.prepare(`explain query plan ${sent!.sql}`)
    .bind(...sent!.binds)
    .all<{ detail: string }>();
  return plan.results.map((row) => row.detail);
}

/** Every member a query lists, following its pages (at most `maxPages`); and the rows each page read. */
export async function walkMemberList(viewer: Viewer, query: MemberListQuery, maxPages: number) {
  const ids: string[] = [];
  const reads: number[] = [];
  let after: MemberListQuery["after"];
  for (let page = 0; page < maxPages; page++) {
    const stats = emptyD1Stats();
    const listed = await loadMemberList(createDb(countingD1(env.DB, stats)), viewer, { ...query, after });
    ids.push(...listed.members.map((m) => m.userId));
    reads.push(stats.rowsRead);
    if (!listed.next) break;
    after = listed.next;
  }
  return { ids, reads };
}

/**
 * A directory profile (member_profiles) for each member of `organizationId` whose user id starts with
 * `idPrefix`: `department`, `office` and `jobTitle` are SQL expressions over `i`, the member's number
 * in user id order from 1 (a job title left out is none).
 */
export async function addSyntheticProfiles(
  organizationId: string,
  profile: { department: string; office: string; jobTitle?: string },
  idPrefix = "",
) {
  await env.DB.prepare(
    `insert into member_profiles (organization_id, user_id, department, job_title, office_location, department_key, office_key, name_key, updated_at)
     select organization_id, user_id, d, t, o, lower(d), lower(o), name_key, 1 from (
       select organization_id, user_id, name_key, ${profile.department} as d, ${profile.jobTitle ?? "null"} as t, ${profile.office} as o
       from (select organization_id, user_id, name_key, row_number() over (order by user_id) as i from memberships
         where organization_id = ? and user_id like ? || '%'))`,
  )
    .bind(organizationId, idPrefix)
    .run();
}
