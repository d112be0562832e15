import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { statement } from "./statements.ts";
import type { Db } from "./client.ts";
import { entraConnections, invitations, organizations, type Role } from "./schema.ts";

const isOpen = (now: number) => and(isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, now));

/** Open invitations for an address, with what is needed to decide whether a Microsoft email is trusted. */
export function findOpenInvitationsForEmail(db: Db, email: string, now: number) {
  return db
    .select({
      id: invitations.id,
      organizationId: invitations.organizationId,
      organizationName: organizations.name,
      role: invitations.role,
      connectedTenantId: entraConnections.tenantId,
      verifiedDomains: entraConnections.verifiedDomains,
    })
    .from(invitations)
    .innerJoin(organizations, eq(organizations.id, invitations.organizationId))
    .leftJoin(entraConnections, eq(entraConnections.organizationId, invitations.organizationId))
    .where(and(eq(invitations.email, email), isOpen(now)));
}

export type OpenInvitation = Awaited<ReturnType<typeof findOpenInvitationsForEmail>>[number];

export interface InvitationRow {
  id: string;
  email: string;
  role: Role;
  createdAt: number;
}

/**
 * The first `limit` open invitations by email, as a statement to send with the Users page's list
 * (EXPLAIN: `SEARCH invitations USING INDEX invitations_open (organization_id=?)`, already in
 * email order).
 */
export function openInvitationsQuery(db: Db, organizationId: string, now: number, limit: number) {
  return {
    statement: statement(
      db,
      sql`select id, email, role, created_at as createdAt from invitations
      where organization_id = ${organizationId} and accepted_at is null and revoked_at is null and expires_at > ${now}
      order by email limit ${limit}`,
    ),
    read: (result: D1Result) => result.results as InvitationRow[],
  };
}

export function insertInvitation(
  db: Db,
  invitation: { id: string; organizationId: string; email: string; role: Role; invitedBy: string; now: number; expiresAt: number },
) {
  return db
    .insert(invitations)
    .values({
      id: invitation.id,
      organizationId: invitation.organizationId,
      email: invitation.email,
      role: invitation.role,
      invitedBy: invitation.invitedBy,
      createdAt: invitation.now,
      expiresAt: invitation.expiresAt,
    })
    .onConflictDoNothing()
    .returning({ id: invitations.id });
}

/** Still true on the primary: the invitation is open (a sign-in premise). */
export function invitationStillOpen(id: string, now: number) {
  return sql`exists (select 1 from ${invitations} i
    where i.id = ${id} and i.accepted_at is null and i.revoked_at is null and i.expires_at > ${now})`;
}

export function acceptInvitation(db: Db, id: string, now: number) {
  return db
    .update(invitations)
    .set({ acceptedAt: now })
    .where(and(eq(invitations.id, id), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)));
}

export function revokeInvitation(db: Db, organizationId: string, id: string, now: number) {
  return db
    .update(invitations)
    .set({ revokedAt: now })
    .where(and(eq(invitations.id, id), eq(invitations.organizationId, organizationId), isOpen(now)))
    .returning({ id: invitations.id, email: invitations.email });
}
