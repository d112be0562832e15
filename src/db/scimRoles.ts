// SCIM groups in the group → role mapping (migrations/0021): which role a pushed member's SCIM
// groups give them, decided in SQL by the batch that changed their groups, so a PATCH adding
// 10,000 members decides 10,000 roles in the same round trip.
//
// The rule, as for Entra groups (src/people/groupRoles.ts): the highest role among the mapped
// groups the member is in, else the organization's SCIM default role. Only SCIM-provisioned
// members; never an Owner (neither made nor unmade: mappable roles exclude owner); and only once an
// Owner or Admin has saved the SCIM mapping (a group's role or the default role: the scim_settings
// row exists), so pushing groups before anyone mapped them changes no one's role (members adopted
// with their roles, the seeded Admins, keep them). From then on it holds, the last mapping removed
// included: its members go back to the default role.
//
// How a batch decides: it marks the Users whose groups it changes (`markMembersOf` before and after
// the change, so members removed and added are both marked), then `decideMarkedRoles` audits,
// raises `member.role_changed` (cause "mapping") and updates each marked member whose role differs,
// and clears the marks. Marks are rows of one partial index: a batch reads only what it marked.
import { and, eq, ne, sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { auditStatement } from "./audit.ts";
import { mappedRoleRank } from "./roleRank.ts";
import { insertEventsFor, MEMBER_OF_U } from "./outbox.ts";
import { memberships, users, type MappableRole } from "./schema.ts";
import { statement, type Statement } from "./statements.ts";

const RANK = mappedRoleRank(sql`r.role`);

/** The role the mapping gives the `memberships` row the statement reads. */
const MAPPED_ROLE = sql`coalesce(
  (select r.role from scim_group_members gm
    join scim_group_roles r on r.organization_id = gm.organization_id and r.group_id = gm.group_id
    where gm.organization_id = ${memberships.organizationId} and gm.user_id = ${memberships.userId}
    order by ${RANK} desc limit 1),
  (select st.default_role from scim_settings st where st.organization_id = ${memberships.organizationId}),
  'member')`;

/** The organization's default role for pushed members: SQL for an insert's value. */
export function scimDefaultRole(organizationId: string): SQL {
  return sql`coalesce((select default_role from scim_settings where organization_id = ${organizationId}), 'member')`;
}

/** The default role as a read for a request's read batch (`org`: the token's organization subquery). */
export function defaultRoleRead(db: Db, org: SQL): Statement {
  return statement(db, sql`select coalesce((select default_role from scim_settings where organization_id = ${org}), 'member') as role`);
}

export function defaultRoleOf(result: D1Result | undefined): MappableRole {
  return ((result?.results[0] as { role?: MappableRole } | undefined)?.role ?? "member") as MappableRole;
}

/** Marks the current members of SCIM group `groupId` (before a change, and again after it). */
export function markMembersOf(db: Db, organizationId: string, groupId: string): Statement {
  return statement(
    db,
    sql`update scim_users set role_pending = 1 where organization_id = ${organizationId}
      and user_id in (select user_id from scim_group_members where group_id = ${groupId}) and role_pending = 0`,
  );
}

/** Marks every SCIM User of the organization (the default role changed). */
export function markAllUsers(db: Db, organizationId: string): Statement {
  return statement(db, sql`update scim_users set role_pending = 1 where organization_id = ${organizationId} and role_pending = 0`);
}

/**
 * Decides the marked members' roles: audit row, event and update for each whose role differs (all
 * written before the update, under the same guard), then clears the marks.
 */
export function decideMarkedRoles(db: Db, change: { organizationId: string; now: number }): Statement[] {
  const { organizationId, now } = change;
  const guard = and(
    eq(memberships.organizationId, organizationId),
    ne(memberships.role, "owner"),
    sql`${memberships.userId} in (select s.user_id from scim_users s where s.organization_id = ${organizationId} and s.role_pending = 1)`,
    sql`exists (select 1 from scim_settings where organization_id = ${organizationId})`,
    sql`${memberships.role} <> ${MAPPED_ROLE}`,
  )!;
  return [
    auditStatement(
      db,
      {
        organizationId,
        actorUserId: null,
        action: "scim.role_mapped",
        targetUserId: sql`${memberships.userId}`,
        details: sql`json_object('from', ${memberships.role}, 'to', ${MAPPED_ROLE})`,
        now,
      },
      sql`from ${memberships} where ${guard}`,
    ),
    statement(
      db,
      insertEventsFor(
        "member.role_changed",
        {
          organizationId,
          now,
          data: {
            organization_id: organizationId,
            member: MEMBER_OF_U,
            from_role: sql`${memberships.role}`,
            to_role: MAPPED_ROLE,
            cause: "mapping",
            run_id: null,
            actor_user_id: null,
            // Issue 19's field names the Entra group that decided; a SCIM group's role names none.
            deciding_group: null,
          },
        },
        { from: sql`${memberships} cross join ${users} u on u.id = ${memberships.userId}`, where: guard },
      ),
    ),
    statement(
      db,
      db
        .update(memberships)
        .set({ role: sql`${MAPPED_ROLE}` })
        .where(guard),
    ),
    statement(db, sql`update scim_users set role_pending = 0 where organization_id = ${organizationId} and role_pending = 1`),
  ];
}
