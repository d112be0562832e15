// Session rows. The cookie holds the token; only its SHA-256 is stored, so a leaked database
// cannot be replayed as sessions.
import { and, asc, eq, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { memberships, organizations, sessions, users } from "./schema.ts";

/** Everything a signed-in request needs, read in one D1 round trip. */
export function findSessionContext(db: Db, tokenHash: string) {
  return db
    .select({
      tokenHash: sessions.tokenHash,
      userId: sessions.userId,
      organizationId: sessions.organizationId,
      lastSeenAt: sessions.lastSeenAt,
      expiresAt: sessions.expiresAt,
      displayName: users.displayName,
      email: users.email,
      role: memberships.role,
      status: memberships.status,
      organizationName: organizations.name,
      plan: organizations.plan,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .innerJoin(memberships, and(eq(memberships.userId, sessions.userId), eq(memberships.organizationId, sessions.organizationId)))
    .innerJoin(organizations, eq(organizations.id, sessions.organizationId))
    .where(eq(sessions.tokenHash, tokenHash))
    .limit(1);
}

/** The organizations the session's user may switch to, keyed by the same token hash (batchable). */
export function listSwitchableOrganizations(db: Db, tokenHash: string) {
  return db
    .select({ id: organizations.id, name: organizations.name })
    .from(sessions)
    .innerJoin(memberships, and(eq(memberships.userId, sessions.userId), eq(memberships.status, "active")))
    .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
    .where(eq(sessions.tokenHash, tokenHash))
    .orderBy(asc(organizations.name));
}

export function insertSession(
  db: Db,
  session: { tokenHash: string; userId: string; organizationId: string; now: number; expiresAt: number },
) {
  return db.insert(sessions).values({
    tokenHash: session.tokenHash,
    userId: session.userId,
    organizationId: session.organizationId,
    createdAt: session.now,
    lastSeenAt: session.now,
    expiresAt: session.expiresAt,
  });
}

export function deleteSession(db: Db, tokenHash: string) {
  return db.delete(sessions).where(eq(sessions.tokenHash, tokenHash));
}

export function touchSession(db: Db, tokenHash: string, now: number) {
  return db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.tokenHash, tokenHash));
}

export function switchSessionOrganization(db: Db, tokenHash: string, organizationId: string) {
  return db.update(sessions).set({ organizationId }).where(eq(sessions.tokenHash, tokenHash));
}

/**
 * Ends a member's sessions in one organization, in their deactivation's batch (the session loader
 * refuses deactivated members meanwhile); `onlyIf`: the deactivation's own guard, read before it.
 */
export function deleteMemberSessions(db: Db, organizationId: string, userId: string, onlyIf?: SQL) {
  return db.delete(sessions).where(and(eq(sessions.userId, userId), eq(sessions.organizationId, organizationId), onlyIf));
}
