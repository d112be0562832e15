// Users as members of an organization. Every write that could remove the last active Owner is
// guarded inside the SQL statement itself, so two concurrent requests cannot both pass a check.
import { and, eq, sql, type SQL } from "drizzle-orm";
import { publicDeactivationCause } from "../eventCatalogue.ts";
import { insertEventsFor, MEMBER_OF_U, type EventFields } from "./outbox.ts";
import { auditStatement } from "./audit.ts";
import type { Db } from "./client.ts";
import { memberships, personColumns, users, type DeactivationReason, type Role } from "./schema.ts";
import { deleteMemberSessions } from "./sessions.ts";
import { statement } from "./statements.ts";

/** Display names by user id, in one query: one bound JSON parameter for up to 200 ids (D1 binds at most 100 a statement). */
export async function findDisplayNames(db: Db, userIds: readonly string[]): Promise<Map<string, string>> {
  const rows = await db.all<{ id: string; display_name: string }>(
    sql`select id, display_name from users where id in (select value from json_each(${JSON.stringify(userIds)}))`,
  );
  return new Map(rows.map((u) => [u.id, u.display_name]));
}

/** Whether someone with this email (lower-cased) is a member: one entry of memberships_by_email. */
export async function hasMemberWithEmail(db: Db, organizationId: string, email: string): Promise<boolean> {
  const [row] = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.emailKey, sql`lower(${email})`)))
    .limit(1);
  return row !== undefined;
}

export async function findMember(db: Db, organizationId: string, userId: string) {
  const [row] = await db
    .select({
      ...personColumns,
      role: memberships.role,
      status: memberships.status,
      deactivatedReason: memberships.deactivatedReason,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)))
    .limit(1);
  return row;
}

/** True when someone other than `userId` is an active Owner of the organization (the last-Owner guard). */
export function anotherActiveOwner(organizationId: string, userId: string) {
  return sql`exists (select 1 from ${memberships} other
    where other.organization_id = ${organizationId} and other.user_id != ${userId}
      and other.role = 'owner' and other.status = 'active')`;
}

/** One member's users row as `u`: the rows of a webhook event about them (outbox.ts). */
export function memberUserRow(userId: string) {
  return { from: sql`${users} u`, where: sql`u.id = ${userId}` };
}

/** Still true on the primary: the member is active in the organization (a sign-in premise). */
export function activeMembershipExists(organizationId: string, userId: string) {
  return sql`exists (select 1 from ${memberships} m
    where m.organization_id = ${organizationId} and m.user_id = ${userId} and m.status = 'active')`;
}

// A change an Owner or Admin makes to one member is one batch: the audit row and the webhook event
// are written under the change's own guard, read before the update, so they exist exactly when the
// change happened; the update comes last and returns the member when it changed. The guard names
// the table, not an alias, so the same condition serves the update and the statements before it.

/** How an Owner or Admin's deactivation is recorded in memberships.deactivated_reason. */
type ByHandReason = Exclude<DeactivationReason, "directory_sync" | "scim" | "left_scope">;

/** The member, and (for a change that would take an Owner away) another active Owner remaining. */
function theMember(organizationId: string, userId: string, condition: SQL, keepsAnOwner: boolean): SQL {
  return and(
    eq(memberships.organizationId, organizationId),
    eq(memberships.userId, userId),
    condition,
    keepsAnOwner ? sql`(${memberships.role} != 'owner' or ${anotherActiveOwner(organizationId, userId)})` : undefined,
  )!;
}

/** The audit row and the webhook event of a change to the member `guard` selects, before the update. */
function auditedByHand<T extends "member.role_changed" | "member.deactivated" | "member.reactivated">(
  db: Db,
  change: { organizationId: string; userId: string; actorUserId: string; now: number; guard: SQL },
  audit: { details: Record<string, unknown> },
  event: { type: T; data: EventFields<T> },
) {
  const { organizationId, actorUserId, now, guard } = change;
  return [
    auditStatement(
      db,
      {
        organizationId,
        actorUserId,
        action: event.type,
        targetUserId: sql`${memberships.userId}`,
        details: sql`${JSON.stringify(audit.details)}`,
        now,
      },
      sql`from ${memberships} where ${guard}`,
    ),
    statement(
      db,
      insertEventsFor(
        event.type,
        { organizationId, now, data: event.data },
        {
          from: sql`${memberships} cross join ${users} u on u.id = ${memberships.userId}`,
          where: guard,
        },
      ),
    ),
  ];
}

/** Changes a role by hand unless that would leave the organization without an active Owner. */
export function changeRoleStatements(
  db: Db,
  change: { organizationId: string; userId: string; from: Role; to: Role; actorUserId: string; now: number },
) {
  const { organizationId, userId, from, to, actorUserId } = change;
  const guard = theMember(organizationId, userId, sql`1`, to !== "owner");
  return [
    ...auditedByHand(
      db,
      { ...change, guard },
      { details: { from, to } },
      {
        type: "member.role_changed",
        data: {
          organization_id: organizationId,
          member: MEMBER_OF_U,
          from_role: from,
          to_role: to,
          cause: "by_hand",
          run_id: null,
          actor_user_id: actorUserId,
          deciding_group: null,
        },
      },
    ),
    statement(db, db.update(memberships).set({ role: to }).where(guard).returning({ userId: memberships.userId })),
  ];
}

/**
 * Group mapping's role change: only from the role the decision was made on, and never an Owner's,
 * so someone made Owner while Graph was being read keeps it.
 */
export function updateMappedRole(db: Db, member: { organizationId: string; userId: string; from: Role; to: Role }) {
  return db
    .update(memberships)
    .set({ role: member.to })
    .where(
      and(
        eq(memberships.organizationId, member.organizationId),
        eq(memberships.userId, member.userId),
        eq(memberships.role, member.from),
        sql`${memberships.role} != 'owner'`,
      ),
    );
}

/**
 * Deactivates an active member by hand unless they are the last active Owner; their sessions end
 * in the same batch.
 */
export function deactivateStatements(
  db: Db,
  change: { organizationId: string; userId: string; reason: ByHandReason; actorUserId: string; now: number },
) {
  const { organizationId, userId, reason, actorUserId, now } = change;
  const guard = theMember(organizationId, userId, eq(memberships.status, "active"), true);
  return [
    ...auditedByHand(
      db,
      { ...change, guard },
      { details: { reason } },
      {
        type: "member.deactivated",
        data: {
          organization_id: organizationId,
          member: MEMBER_OF_U,
          cause: publicDeactivationCause(reason),
          directory_reason: null,
          run_id: null,
          actor_user_id: actorUserId,
        },
      },
    ),
    statement(db, deleteMemberSessions(db, organizationId, userId, sql`exists (select 1 from ${memberships} where ${guard})`)),
    statement(
      db,
      db
        .update(memberships)
        .set({ status: "deactivated", deactivatedReason: reason, deactivatedAt: now, deactivatedByRun: null })
        .where(guard)
        .returning({ userId: memberships.userId }),
    ),
  ];
}

/** Reactivates a deactivated member by hand, however they were deactivated. */
export function reactivateStatements(
  db: Db,
  change: { organizationId: string; userId: string; previousReason: string | null; actorUserId: string; now: number },
) {
  const { organizationId, userId, actorUserId } = change;
  const guard = theMember(organizationId, userId, eq(memberships.status, "deactivated"), false);
  return [
    ...auditedByHand(
      db,
      { ...change, guard },
      { details: { previousReason: change.previousReason } },
      {
        type: "member.reactivated",
        data: { organization_id: organizationId, member: MEMBER_OF_U, cause: "by_hand", run_id: null, actor_user_id: actorUserId },
      },
    ),
    statement(
      db,
      db
        .update(memberships)
        .set({ status: "active", deactivatedReason: null, deactivatedAt: null, deactivatedByRun: null })
        .where(guard)
        .returning({ userId: memberships.userId }),
    ),
  ];
}

export function insertMembership(db: Db, member: { organizationId: string; userId: string; role: Role; now: number }) {
  return db
    .insert(memberships)
    .values({
      organizationId: member.organizationId,
      userId: member.userId,
      role: member.role,
      status: "active",
      createdAt: member.now,
      // Written with the row, so the keys trigger (migrations/0008) has nothing to redo.
      nameKey: sql`(select lower(${users.displayName}) from ${users} where ${users.id} = ${member.userId})`,
      emailKey: sql`(select lower(${users.email}) from ${users} where ${users.id} = ${member.userId})`,
    })
    .onConflictDoNothing();
}

export function insertUser(db: Db, user: { id: string; email: string | null; displayName: string; now: number }) {
  return db.insert(users).values({
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    createdAt: user.now,
  });
}

export function markSignedIn(db: Db, userId: string, now: number) {
  return db.update(users).set({ lastSignInAt: now }).where(eq(users.id, userId));
}
