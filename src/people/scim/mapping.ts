// SCIM groups in the group → role mapping (Settings → Integrations → SCIM provisioning, and the
// Group → Role mapping page when the organization's directory is SCIM). A change decides every
// affected pushed member's role at once, in the batch that saves it (src/db/scimRoles.ts has the
// rule: highest mapped role wins, else the default role; never an Owner).
import type { Viewer } from "../../context.ts";
import { checkPlanHas } from "../../auth/access.ts";
import { insertAuditEvent } from "../../db/audit.ts";
import type { Db } from "../../db/client.ts";
import { decideMarkedRoles, markAllUsers, markMembersOf } from "../../db/scimRoles.ts";
import { findScimGroup, listScimGroupRoles, saveScimDefaultRole, setScimGroupRole } from "../../db/scimMapping.ts";
import type { MappableRole } from "../../db/schema.ts";
import { runStatements } from "../../db/statements.ts";
import { AppError } from "../../lib/errors.ts";

export { listScimGroupRoles };
export type { ScimMappingSection } from "../../db/scimMapping.ts";

/** How many members' roles the batch changed: the update's count (decideMarkedRoles' third statement). */
function changedRoles(results: D1Result[], decideAt: number): number {
  return results[decideAt + 2]?.meta.changes ?? 0;
}

const roleWord = (count: number) => (count === 1 ? "1 member's role changed." : `${count} members' roles changed.`);

/** Maps SCIM group `groupId` to `role`, or unmaps it (`none`). Returns the page's notice. */
export async function changeScimGroupRole(db: Db, viewer: Viewer, groupId: string, role: MappableRole | "none", now: number) {
  checkPlanHas(viewer, "scim");
  const organizationId = viewer.organizationId;
  const group = await findScimGroup(db, organizationId, groupId);
  if (!group) throw new AppError("not_found", "That SCIM group is not in this organization.");
  if ((group.role ?? "none") === role) return `${group.displayName} is unchanged.`;
  const writes = [
    markMembersOf(db, organizationId, groupId),
    ...setScimGroupRole(db, organizationId, groupId, role, now),
    insertAuditEvent(db, {
      organizationId,
      actorUserId: viewer.userId,
      action: "scim.mapping_changed",
      details: { groupId, groupName: group.displayName, role: role === "none" ? null : role, previousRole: group.role },
      now,
    }),
  ];
  const results = await runStatements(db, [...writes, ...decideMarkedRoles(db, { organizationId, now })]);
  const what = role === "none" ? `${group.displayName} is no longer mapped.` : `Members of ${group.displayName} now get the ${role} role.`;
  return `${what} ${roleWord(changedRoles(results, writes.length))}`;
}

/** The role pushed members get when no mapped group gives one. */
export async function changeScimDefaultRole(db: Db, viewer: Viewer, role: MappableRole, now: number) {
  checkPlanHas(viewer, "scim");
  const organizationId = viewer.organizationId;
  const writes = [
    markAllUsers(db, organizationId),
    saveScimDefaultRole(db, organizationId, role, now),
    insertAuditEvent(db, {
      organizationId,
      actorUserId: viewer.userId,
      action: "scim.mapping_changed",
      details: { defaultRole: role },
      now,
    }),
  ];
  const results = await runStatements(db, [...writes, ...decideMarkedRoles(db, { organizationId, now })]);
  return `Pushed members in no mapped group now get the ${role} role. ${roleWord(changedRoles(results, writes.length))}`;
}
