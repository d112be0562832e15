// A member's page: who they are in UniAsset and, when the organization's directory keeps it, their
// work profile from Microsoft Entra ID (issue 19). Always the viewer's organization.
import type { Db } from "../db/client.ts";
import { findMemberProfile } from "../db/memberProfiles.ts";
import { findMember } from "../db/members.ts";
import type { Viewer } from "../context.ts";
import { AppError } from "../lib/errors.ts";

export async function loadMemberPage(db: Db, viewer: Viewer, userId: string) {
  const [member, profile] = await Promise.all([
    findMember(db, viewer.organizationId, userId),
    findMemberProfile(db, viewer.organizationId, userId),
  ]);
  if (!member) throw new AppError("not_found", "That person is not a member of this organization.");
  return { member, profile };
}
export type MemberPageData = Awaited<ReturnType<typeof loadMemberPage>>;
