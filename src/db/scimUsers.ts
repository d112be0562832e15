// SCIM's Users in D1 (migrations/0020) and what they do to memberships. Reads take the
// organization as SQL (the presented token's subquery, src/db/scimTokens.ts), so they ride in the
// request's one read batch; writes take the organization id the read proved.
//
// What SCIM does to a member (issue 21), each change with its audit row and its `member.*` event
// (cause "scim") written under the change's own guard, before the update, in the same batch:
// - `active: false` or DELETE deactivates an active member with the reason 'scim' and ends their
//   sessions; never the last active Owner (the guard, and the route's refusal before any write).
// - `active: true` reactivates only a member whose reason is 'scim': never one deactivated by hand
//   or by directory sync.
import { and, eq, sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { auditStatement, insertAuditEventsFor } from "./audit.ts";
import { anotherActiveOwner } from "./members.ts";
import { insertEventsFor, MEMBER_OF_U } from "./outbox.ts";
import { memberships, users, type MappableRole } from "./schema.ts";
import { deleteMemberSessions } from "./sessions.ts";
import { statement, type Statement } from "./statements.ts";

export interface ScimUserRow {
  userId: string;
  userName: string;
  externalId: string | null;
  active: number;
  ownsUser: number;
  resource: string;
  createdAt: number;
  updatedAt: number;
}

/** A member's standing, read with the SCIM row: what the activation rules decide on. */
export interface MemberStanding {
  role: string | null;
  status: "active" | "deactivated" | null;
  reason: string | null;
  anotherOwner: number;
}

const USER_COLUMNS = sql`s.user_id as userId, s.user_name as userName, s.external_id as externalId, s.active as active,
  s.owns_user as ownsUser, s.resource as resource, s.created_at as createdAt, s.updated_at as updatedAt`;

const STANDING = sql`m.role as role, m.status as status, m.deactivated_reason as reason,
  exists (select 1 from memberships o where o.organization_id = m.organization_id and o.user_id <> m.user_id
    and o.role = 'owner' and o.status = 'active') as anotherOwner`;

/** One User by its SCIM id, with the member's standing and whether their deactivation is held (src/db/scimHolds.ts). */
export function userById(db: Db, org: SQL, userId: string): Statement {
  return statement(
    db,
    sql`select ${USER_COLUMNS}, ${STANDING},
      exists (select 1 from scim_deprovisions d where d.organization_id = s.organization_id and d.user_id = s.user_id and d.held = 1) as held
    from scim_users s
    left join memberships m on m.organization_id = s.organization_id and m.user_id = s.user_id
    where s.organization_id = ${org} and s.user_id = ${userId}`,
  );
}

/**
 * The member a POST would adopt: one already in the organization with this email (lower-cased),
 * one entry of memberships_by_email; `linked` when a provider already pushed them under another
 * userName (a User Generate token wrote for them, not pushed yet, is claimed by the POST instead).
 */
export function memberByEmail(db: Db, org: SQL, email: string): Statement {
  return statement(
    db,
    sql`select m.user_id as userId, ${STANDING},
      exists (select 1 from scim_users s where s.organization_id = m.organization_id and s.user_id = m.user_id and s.pushed = 1) as linked,
      exists (select 1 from scim_deprovisions d where d.organization_id = m.organization_id and d.user_id = m.user_id and d.held = 1) as held
    from memberships m where m.organization_id = ${org} and m.email_key = ${email.toLowerCase()} limit 1`,
  );
}

/**
 * A page of Users matching `where` (over `s`), in the one stable order (the primary key), and the
 * count of all matches in a statement of its own, unless `unique`: a filter on one value of a
 * unique key (`userName eq`, `id eq`) matches at most one User, so the page is the count and a
 * lookup reads the token's row and that User, nothing more (a window count would read its own
 * temporary rows). `pageTotal` reads either.
 */
export function userPage(db: Db, org: SQL, where: SQL, page: { offset: number; limit: number; unique: boolean }): Statement[] {
  const matching = sql`from scim_users s where s.organization_id = ${org} and ${where}`;
  const rows = statement(db, sql`select ${USER_COLUMNS} ${matching} order by s.user_id limit ${page.limit} offset ${page.offset}`);
  if (page.unique && page.offset === 0 && page.limit > 0) return [rows];
  return [rows, statement(db, sql`select count(*) as total ${matching}`)];
}

/** The count of all matches from userPage's or groupPage's results. */
export function pageTotal(results: D1Result[]): number {
  if (results.length === 1) return results[0]!.results.length;
  return (results[1]!.results[0] as { total: number } | undefined)?.total ?? 0;
}

/** The organization's Users in order, at most `limit` (the candidates of a filter no column answers). */
export function userCandidates(db: Db, org: SQL, limit: number): Statement {
  return statement(db, sql`select ${USER_COLUMNS} from scim_users s where s.organization_id = ${org} order by s.user_id limit ${limit}`);
}

export interface StoredUser {
  organizationId: string;
  userId: string;
  userName: string;
  externalId: string | null;
  active: boolean;
  resource: string;
  now: number;
  /** What sign-in may link the User by (src/signin/scimLink.ts): lower-cased email, Entra object id. */
  emailKey: string | null;
  entraObjectId: string | null;
}

/** A pushed User; it claims the row Generate token wrote for an adopted member (pushed = 0). */
export function insertScimUser(db: Db, user: StoredUser & { ownsUser: boolean }): Statement {
  return statement(
    db,
    sql`insert into scim_users (organization_id, user_id, user_name, user_name_key, external_id, active, owns_user,
      resource, created_at, updated_at, email_key, entra_object_id, pushed)
    values (${user.organizationId}, ${user.userId}, ${user.userName}, ${user.userName.toLowerCase()}, ${user.externalId},
      ${user.active ? 1 : 0}, ${user.ownsUser ? 1 : 0}, ${user.resource}, ${user.now}, ${user.now}, ${user.emailKey}, ${user.entraObjectId}, 1)
    on conflict (organization_id, user_id) do update set user_name = excluded.user_name, user_name_key = excluded.user_name_key,
      external_id = excluded.external_id, active = excluded.active, resource = excluded.resource, updated_at = excluded.updated_at,
      email_key = excluded.email_key, entra_object_id = excluded.entra_object_id, pushed = 1
    where scim_users.pushed = 0`,
  );
}

export function updateScimUser(db: Db, user: StoredUser): Statement {
  return statement(
    db,
    sql`update scim_users set user_name = ${user.userName}, user_name_key = ${user.userName.toLowerCase()},
      external_id = ${user.externalId}, active = ${user.active ? 1 : 0}, resource = ${user.resource}, updated_at = ${user.now},
      email_key = ${user.emailKey}, entra_object_id = ${user.entraObjectId}
    where organization_id = ${user.organizationId} and user_id = ${user.userId}`,
  );
}

/** DELETE: the SCIM row and the User's group memberships go; the member stays (deactivated). */
export function deleteScimUser(db: Db, organizationId: string, userId: string): Statement[] {
  return [
    statement(db, sql`delete from scim_group_members where organization_id = ${organizationId} and user_id = ${userId}`),
    statement(db, sql`delete from scim_users where organization_id = ${organizationId} and user_id = ${userId}`),
  ];
}

/** A person SCIM creates: a users row and a membership, active or deactivated by SCIM, before any sign-in. */
export function newMemberStatements(
  db: Db,
  person: {
    organizationId: string;
    userId: string;
    email: string | null;
    displayName: string;
    role: MappableRole;
    active: boolean;
    now: number;
  },
): Statement[] {
  const { organizationId, userId, now } = person;
  const writes = [
    statement(db, db.insert(users).values({ id: userId, email: person.email, displayName: person.displayName, createdAt: now })),
    statement(
      db,
      db.insert(memberships).values({
        organizationId,
        userId,
        role: person.role,
        createdAt: now,
        status: person.active ? "active" : "deactivated",
        deactivatedReason: person.active ? null : "scim",
        deactivatedAt: person.active ? null : now,
        nameKey: person.displayName.toLowerCase(),
        emailKey: person.email?.toLowerCase() ?? null,
      }),
    ),
    auditStatement(
      db,
      {
        organizationId,
        actorUserId: null,
        action: "scim.user_provisioned",
        targetUserId: sql`${userId}`,
        details: sql`${JSON.stringify({ active: person.active })}`,
        now,
      },
      sql``,
    ),
  ];
  if (person.active) {
    writes.push(
      statement(
        db,
        insertEventsFor(
          "member.provisioned",
          {
            organizationId,
            now,
            data: {
              organization_id: organizationId,
              member: MEMBER_OF_U,
              role: person.role,
              cause: "scim",
              run_id: null,
              actor_user_id: null,
            },
          },
          { from: sql`users u`, where: sql`u.id = ${userId}` },
        ),
      ),
    );
  }
  return writes;
}

/** A SCIM-created person's name and email follow the provider (users_sort_keys keeps the list keys). */
export function updatePersonStatement(db: Db, userId: string, person: { email: string | null; displayName: string }): Statement {
  return statement(db, db.update(users).set({ email: person.email, displayName: person.displayName }).where(eq(users.id, userId)));
}

function theMember(organizationId: string, userId: string, condition: SQL): SQL {
  return and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId), condition)!;
}

type ProviderChange = "member.deactivated" | "member.reactivated";

/** The provider's audit row (no actor) for the member `guard` picks, written before the update that changes them. */
function byProviderAudit(change: { organizationId: string; now: number }, action: ProviderChange, details: SQL, guard: SQL) {
  const { organizationId, now } = change;
  return insertAuditEventsFor(
    { organizationId, actorUserId: null, action, targetUserId: sql`${memberships.userId}`, details, now },
    sql`from ${memberships} where ${guard}`,
  );
}

/**
 * The webhook event for the member `guard` picks, with their users row as `u` (what MEMBER_OF_U
 * reads): the provider acted, so no run, and no person unless an Owner or Admin applied a held
 * deactivation (`actorUserId`). Fields the event type lacks are not sent.
 */
export function byProviderEvents(type: ProviderChange, change: { organizationId: string; now: number; actorUserId?: string }, guard: SQL) {
  const { organizationId, now } = change;
  const data = {
    organization_id: organizationId,
    member: MEMBER_OF_U,
    cause: "scim",
    directory_reason: null,
    run_id: null,
    actor_user_id: change.actorUserId ?? null,
  } as const;
  return insertEventsFor(
    type,
    { organizationId, now, data },
    { from: sql`${memberships} cross join ${users} u on u.id = ${memberships.userId}`, where: guard },
  );
}

/** Deactivates an active member for the provider (reason 'scim') unless they are the last active Owner; their sessions end. */
export function scimDeactivateStatements(
  db: Db,
  change: { organizationId: string; userId: string; now: number },
  /** A further condition, checked by each statement in the batch (the burst threshold's, src/db/scimHolds.ts). */
  onlyIf: SQL = sql`1`,
): Statement[] {
  const { organizationId, userId, now } = change;
  const guard = theMember(
    organizationId,
    userId,
    sql`${memberships.status} = 'active'
    and (${memberships.role} != 'owner' or ${anotherActiveOwner(organizationId, userId)}) and ${onlyIf}`,
  );
  return [
    statement(db, byProviderAudit(change, "member.deactivated", sql`'{"reason":"scim"}'`, guard)),
    statement(db, byProviderEvents("member.deactivated", change, guard)),
    statement(db, deleteMemberSessions(db, organizationId, userId, sql`exists (select 1 from ${memberships} where ${guard})`)),
    statement(
      db,
      db
        .update(memberships)
        .set({ status: "deactivated", deactivatedReason: "scim", deactivatedAt: now, deactivatedByRun: null })
        .where(guard),
    ),
  ];
}

/** Reactivates a member only if the provider deactivated them (reason 'scim'). */
export function scimReactivateStatements(db: Db, change: { organizationId: string; userId: string; now: number }): Statement[] {
  const { organizationId, userId } = change;
  const guard = theMember(organizationId, userId, sql`${memberships.status} = 'deactivated' and ${memberships.deactivatedReason} = 'scim'`);
  return [
    statement(db, byProviderAudit(change, "member.reactivated", sql`'{"previousReason":"scim"}'`, guard)),
    statement(db, byProviderEvents("member.reactivated", change, guard)),
    statement(
      db,
      db.update(memberships).set({ status: "active", deactivatedReason: null, deactivatedAt: null, deactivatedByRun: null }).where(guard),
    ),
  ];
}

/**
 * Every member of the organization SCIM has no User for yet, written as one (pushed = 0): userName
 * and the work email are the member's email (else their user id), `active` their standing. For
 * Generate token's batch, under its own condition (`allowed`); one INSERT … SELECT at any size.
 */
export function membersAsUsers(db: Db, organizationId: string, now: number, allowed: SQL): Statement {
  const name = sql`coalesce(u.email, m.user_id)`;
  const resource = sql`json_object('schemas', json_array('urn:ietf:params:scim:schemas:core:2.0:User'), 'userName', ${name},
    'displayName', u.display_name, 'active', json(case when m.status = 'active' then 'true' else 'false' end),
    'emails', case when u.email is null then json_array() else json_array(json_object('value', u.email, 'type', 'work', 'primary', json('true'))) end)`;
  return statement(
    db,
    sql`insert into scim_users (organization_id, user_id, user_name, user_name_key, external_id, active, owns_user,
      resource, created_at, updated_at, email_key, entra_object_id, pushed)
    select m.organization_id, m.user_id, ${name}, lower(${name}), null, m.status = 'active', 0, ${resource}, m.created_at, ${now},
      lower(u.email), null, 0
    from memberships m join users u on u.id = m.user_id
    where m.organization_id = ${organizationId} and ${allowed}
      and not exists (select 1 from scim_users s where s.organization_id = m.organization_id and s.user_id = m.user_id)
    on conflict do nothing`,
  );
}
