// Users as members of an organization. Every write that could remove the last active Owner is
// guarded inside the SQL statement itself, so two concurrent requests cannot both pass a check.
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { memberships, users, type DeactivationReason, type Role } from "./schema.ts";

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
      userId: users.id,
      displayName: users.displayName,
      email: users.email,
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

/** Still true on the primary: the member is active in the organization (a sign-in premise). */
export function activeMembershipExists(organizationId: string, userId: string) {
  return sql`exists (select 1 from ${memberships} m
    where m.organization_id = ${organizationId} and m.user_id = ${userId} and m.status = 'active')`;
}

/** Changes a role unless that would leave the organization without an active Owner. */
export function updateMemberRole(db: Db, organizationId: string, userId: string, role: Role) {
  const keepsAnOwner = role === "owner" ? sql`1` : sql`(${memberships.role} != 'owner' or ${anotherActiveOwner(organizationId, userId)})`;
  return db
    .update(memberships)
    .set({ role })
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId), keepsAnOwner))
    .returning({ userId: memberships.userId });
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

/** Deactivates an active member unless they are the last active Owner. */
export function deactivateMember(
  db: Db,
  change: { organizationId: string; userId: string; reason: DeactivationReason; now: number; runId?: string },
) {
  return db
    .update(memberships)
    .set({
      status: "deactivated",
      deactivatedReason: change.reason,
      deactivatedAt: change.now,
      deactivatedByRun: change.runId ?? null,
    })
    .where(
      and(
        eq(memberships.organizationId, change.organizationId),
        eq(memberships.userId, change.userId),
        eq(memberships.status, "active"),
        sql`(${memberships.role} != 'owner' or ${anotherActiveOwner(change.organizationId, change.userId)})`,
      ),
    )
    .returning({ userId: memberships.userId });
}

export function reactivateMember(db: Db, organizationId: string, userId: string) {
  return db
    .update(memberships)
    .set({ status: "active", deactivatedReason: null, deactivatedAt: null, deactivatedByRun: null })
    .where(
      and(
        eq(memberships.organizationId, organizationId),
        eq(memberships.userId, userId),
        eq(memberships.status, "deactivated"),
      ),
    )
    .returning({ userId: memberships.userId });
}

export function insertMembership(
  db: Db,
  member: { organizationId: string; userId: string; role: Role; now: number },
) {
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
