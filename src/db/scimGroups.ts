// SCIM's Groups in D1 (migrations/0020). A group's members are rows of scim_group_members, never
// a list in memory: a PATCH adding 10,000 members is its id chunks, each one INSERT … SELECT from
// scim_users (which also drops any id that is no User of the organization), all in one batch.
import { sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { statement, type Statement } from "./statements.ts";

/** D1 binds at most 100 parameters per statement; a chunk leaves room for the others. */
export const MEMBER_CHUNK = 90;

export interface ScimGroupRow {
  id: string;
  displayName: string;
  externalId: string | null;
  createdAt: number;
  updatedAt: number;
  /** JSON array of [user id, display name] pairs, when the members were read. */
  members?: string | null;
}

const GROUP_COLUMNS = sql`g.id as id, g.display_name as displayName, g.external_id as externalId, g.created_at as createdAt,
  g.updated_at as updatedAt`;
const MEMBERS = sql`(select json_group_array(json_array(gm.user_id, u.display_name)) from scim_group_members gm
  join users u on u.id = gm.user_id where gm.group_id = g.id) as members`;

export function chunks<T>(items: readonly T[], size = MEMBER_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function groupById(db: Db, org: SQL, id: string, withMembers: boolean): Statement {
  return statement(
    db,
    sql`select ${GROUP_COLUMNS}${withMembers ? sql`, ${MEMBERS}` : sql``} from scim_groups g
    where g.organization_id = ${org} and g.id = ${id}`,
  );
}

/** A page of Groups matching `where` (over `g`) and the count of all matches. */
export function groupPage(db: Db, org: SQL, where: SQL, page: { offset: number; limit: number; withMembers: boolean }): Statement[] {
  const matching = sql`from scim_groups g where g.organization_id = ${org} and ${where}`;
  return [
    statement(
      db,
      sql`select ${GROUP_COLUMNS}${page.withMembers ? sql`, ${MEMBERS}` : sql``} ${matching} order by g.id limit ${page.limit} offset ${page.offset}`,
    ),
    statement(db, sql`select count(*) as total ${matching}`),
  ];
}

export function groupCandidates(db: Db, org: SQL, limit: number): Statement {
  return statement(db, sql`select ${GROUP_COLUMNS} from scim_groups g where g.organization_id = ${org} order by g.id limit ${limit}`);
}

/** Which of `ids` are Users of the organization: one statement per chunk. */
export function knownUsers(db: Db, org: SQL, ids: readonly string[]): Statement[] {
  return chunks(ids).map((chunk) =>
    statement(
      db,
      sql`select user_id as userId from scim_users where organization_id = ${org}
      and user_id in (${sql.join(
        chunk.map((id) => sql`${id}`),
        sql`, `,
      )})`,
    ),
  );
}

export function insertGroup(
  db: Db,
  group: { id: string; organizationId: string; displayName: string; externalId: string | null; now: number },
): Statement {
  return statement(
    db,
    sql`insert into scim_groups (id, organization_id, display_name, display_name_key, external_id, created_at, updated_at)
    values (${group.id}, ${group.organizationId}, ${group.displayName}, ${group.displayName.toLowerCase()}, ${group.externalId}, ${group.now}, ${group.now})`,
  );
}

export function updateGroup(
  db: Db,
  group: { id: string; organizationId: string; displayName: string; externalId: string | null; now: number },
): Statement {
  return statement(
    db,
    sql`update scim_groups set display_name = ${group.displayName}, display_name_key = ${group.displayName.toLowerCase()},
      external_id = ${group.externalId}, updated_at = ${group.now}
    where id = ${group.id} and organization_id = ${group.organizationId}`,
  );
}

export function deleteGroup(db: Db, organizationId: string, id: string): Statement[] {
  return [
    // A group's mapping goes with it (migrations/0021).
    statement(db, sql`delete from scim_group_roles where group_id = ${id} and organization_id = ${organizationId}`),
    statement(db, sql`delete from scim_group_members where group_id = ${id} and organization_id = ${organizationId}`),
    statement(db, sql`delete from scim_groups where id = ${id} and organization_id = ${organizationId}`),
  ];
}

/** The membership change of a PUT or PATCH: replace all, add and remove, in chunks. */
export function memberChangeStatements(
  db: Db,
  group: { id: string; organizationId: string },
  change: { replaceAll: boolean; add: readonly string[]; remove: readonly string[] },
): Statement[] {
  const { id, organizationId } = group;
  const writes: Statement[] = [];
  if (change.replaceAll) writes.push(statement(db, sql`delete from scim_group_members where group_id = ${id}`));
  for (const chunk of chunks(change.add)) {
    writes.push(
      statement(
        db,
        sql`insert into scim_group_members (group_id, user_id, organization_id)
      select ${id}, user_id, organization_id from scim_users where organization_id = ${organizationId}
        and user_id in (${sql.join(
          chunk.map((userId) => sql`${userId}`),
          sql`, `,
        )})
      on conflict do nothing`,
      ),
    );
  }
  for (const chunk of chunks(change.remove)) {
    writes.push(
      statement(
        db,
        sql`delete from scim_group_members where group_id = ${id}
      and user_id in (${sql.join(
        chunk.map((userId) => sql`${userId}`),
        sql`, `,
      )})`,
      ),
    );
  }
  return writes;
}
