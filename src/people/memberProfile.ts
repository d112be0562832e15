// A member's page: who they are in UniAsset and, when the organization's directory keeps it, their
// work profile from Microsoft Entra ID (issue 19). Always the viewer's organization.
import type { Db } from "../db/client.ts";
import { findMemberProfile } from "../db/memberProfiles.ts";
import { findMember } from "../db/members.ts";
import { roleFollowsDirectory } from "../db/groupTracking.ts";
import { findRoleDecision } from "../db/mappings.ts";
import type { Viewer } from "../context.ts";
import { AppError } from "../lib/errors.ts";

export async function loadMemberPage(db: Db, viewer: Viewer, userId: string) {
  const [member, profile, managed, decision] = await Promise.all([
    findMember(db, viewer.organizationId, userId),
    findMemberProfile(db, viewer.organizationId, userId),
    roleFollowsDirectory(db, viewer.organizationId, userId),
    findRoleDecision(db, viewer.organizationId, userId),
  ]);
  if (!member) throw new AppError("not_found", "That person is not a member of this organization.");
  // Whose role it is (issue 19): the directory's while mapping is on, never an Owner's.
  const managedByMapping = managed && member.role !== "owner";
  return { member, profile, managedByMapping, decision: managedByMapping ? decision : null };
}
export type MemberPageData = Awaited<ReturnType<typeof loadMemberPage>>;
