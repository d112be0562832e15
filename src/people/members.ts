// Managing the people of an organization: invitations, roles, deactivation. Each action checks
// who may do it here, on the server; last-Owner protection is enforced in the SQL itself.
import { insertAuditEvent } from "../db/audit.ts";
import type { Db } from "../db/client.ts";
import { insertInvitation, openInvitationsQuery, revokeInvitation } from "../db/invitations.ts";
import { memberPageQuery, type MemberListQuery } from "../db/memberList.ts";
import { changeRoleStatements, deactivateStatements, findMember, hasMemberWithEmail, reactivateStatements } from "../db/members.ts";
import type { Role } from "../db/schema.ts";
import { roleFollowsDirectory } from "../db/groupTracking.ts";
import { AppError } from "../lib/errors.ts";
import { canManageMember, isOwnerOrAdmin } from "../auth/access.ts";
import type { Viewer } from "../context.ts";
import { readStatements, runStatements } from "../db/statements.ts";

const INVITATION_LIFETIME_MS = 14 * 24 * 60 * 60 * 1000;

const lastOwner = () => new AppError("last_owner", "This is the organization's last active Owner. Make someone else an Owner first.");
const notYours = () => new AppError("forbidden", "Your role doesn't allow changing this person. Only Owners can manage Owners.");

/** The member the viewer may manage (and, with `newRole`, give that role), or a refusal. */
async function manageableMember(db: Db, viewer: Viewer, userId: string, newRole?: Role) {
  // Always scoped to the viewer's organization: a user id from another organization is not found.
  const member = await findMember(db, viewer.organizationId, userId);
  if (!member) throw new AppError("not_found", "That person is not a member of this organization.");
  if (!canManageMember(viewer, member.role, newRole)) throw notYours();
  return member;
}

/** Members per page of the Users page. */
export const MEMBERS_PAGE_SIZE = 50;
/** Open invitations listed on the Users page. */
const LISTED_INVITATIONS = 100;

function memberPage(db: Db, viewer: Viewer, query: MemberListQuery) {
  // "Why this role" is for Owners and Admins, who can act on it.
  return memberPageQuery(db, viewer.organizationId, query, { pageSize: MEMBERS_PAGE_SIZE, withDecisions: isOwnerOrAdmin(viewer.role) });
}

/** One page of the member list (what htmx swaps when the search, a filter or the page changes): one statement. */
export async function loadMemberList(db: Db, viewer: Viewer, query: MemberListQuery) {
  const page = memberPage(db, viewer, query);
  const [result] = await readStatements(db, [page.statement]);
  return page.read(result!);
}

/** The Users page: a page of members and, for Owners and Admins, the open invitations, in one round trip. */
export async function loadUsersPage(db: Db, viewer: Viewer, query: MemberListQuery, now: number) {
  const page = memberPage(db, viewer, query);
  if (!isOwnerOrAdmin(viewer.role)) {
    const [result] = await readStatements(db, [page.statement]);
    return { list: page.read(result!), invitations: [] };
  }
  const invitations = openInvitationsQuery(db, viewer.organizationId, now, LISTED_INVITATIONS);
  const [members, open] = await readStatements(db, [page.statement, invitations.statement]);
  return { list: page.read(members!), invitations: invitations.read(open!) };
}

export async function inviteMember(db: Db, viewer: Viewer, email: string, role: Role, now: number) {
  if (!canManageMember(viewer, "member", role)) throw notYours();
  if (await hasMemberWithEmail(db, viewer.organizationId, email)) {
    throw new AppError("conflict", `${email} is already a member of ${viewer.organizationName}.`);
  }
  const [inserted] = await insertInvitation(db, {
    id: crypto.randomUUID(),
    organizationId: viewer.organizationId,
    email,
    role,
    invitedBy: viewer.userId,
    now,
    expiresAt: now + INVITATION_LIFETIME_MS,
  });
  if (!inserted) throw new AppError("conflict", `${email} already has an open invitation.`);
  await insertAuditEvent(db, {
    organizationId: viewer.organizationId,
    actorUserId: viewer.userId,
    action: "member.invited",
    details: { email, role },
    now,
  }).run();
}

export async function revokeMemberInvitation(db: Db, viewer: Viewer, invitationId: string, now: number) {
  const [revoked] = await revokeInvitation(db, viewer.organizationId, invitationId, now);
  if (!revoked) throw new AppError("not_found", "That invitation is no longer open.");
  await insertAuditEvent(db, {
    organizationId: viewer.organizationId,
    actorUserId: viewer.userId,
    action: "invitation.revoked",
    details: { email: revoked.email },
    now,
  }).run();
}

// Each change is one batch (src/db/members.ts): the change, its audit row and its webhook event.
// The batch's last statement is the update, which returns the member only when it changed.
const changed = (results: D1Result[]) => (results.at(-1)?.results.length ?? 0) > 0;

/**
 * While Group → Role mapping is on, the role of someone linked to the connected Entra tenant is the
 * directory's: every directory run decides it again from their groups (issue 19), so a hand change
 * would only last until their next group change. It is refused, with the way to change it instead.
 * Owner is not a mapped role (the mapping never makes or unmakes an Owner): making someone Owner, or
 * an Owner something else, stays a hand change.
 */
const directoryRole = () =>
  new AppError(
    "conflict",
    "This person's role comes from their Microsoft Entra ID groups (Group → Role mapping is on). Change their groups in Entra ID, " +
      "or the mapping under Settings → Integrations → Microsoft Entra ID.",
  );

export async function changeMemberRole(db: Db, viewer: Viewer, userId: string, role: Role, now: number) {
  const member = await manageableMember(db, viewer, userId, role);
  if (member.role === role) return;
  if (member.role !== "owner" && role !== "owner" && (await roleFollowsDirectory(db, viewer.organizationId, userId))) throw directoryRole();
  const change = { organizationId: viewer.organizationId, userId, from: member.role, to: role, actorUserId: viewer.userId, now };
  if (!changed(await runStatements(db, changeRoleStatements(db, change)))) throw lastOwner();
}

export async function deactivateMemberByHand(db: Db, viewer: Viewer, userId: string, now: number) {
  if (userId === viewer.userId) throw new AppError("conflict", "You can't deactivate yourself.");
  const member = await manageableMember(db, viewer, userId);
  if (member.status === "deactivated") return;
  // Their sessions end at once, in the same batch (the session loader also refuses deactivated members).
  const change = { organizationId: viewer.organizationId, userId, reason: "by_hand" as const, actorUserId: viewer.userId, now };
  if (!changed(await runStatements(db, deactivateStatements(db, change)))) throw lastOwner();
}

export async function reactivateMemberByHand(db: Db, viewer: Viewer, userId: string, now: number) {
  const member = await manageableMember(db, viewer, userId);
  if (member.status === "active") return;
  const change = {
    organizationId: viewer.organizationId,
    userId,
    previousReason: member.deactivatedReason,
    actorUserId: viewer.userId,
    now,
  };
  await runStatements(db, reactivateStatements(db, change));
}
