// What an Owner or Admin does with the role changes of directory runs (groupRoles.ts): Apply or
// Dismiss a held list, Undo the changes a run applied. Each acts only on members whose role is still
// the one the list starts from (a later run, a sign-in or an Owner may have moved them since), with
// the same writes as any mapped change (applyGroupRole: role, "why this role", audit, event), or for
// Undo the writes of a hand change by the person who clicked it.
import { insertViewerAuditEvent } from "../../db/audit.ts";
import type { Db } from "../../db/client.ts";
import { findRunRoleChanges, listRecentRoleChanges, setRunRoleChangesState } from "../../db/groupTracking.ts";
import { changeRoleStatements } from "../../db/members.ts";
import { runStatements, type Write } from "../../db/statements.ts";
import type { Viewer } from "../../context.ts";
import { AppError } from "../../lib/errors.ts";
import { applyGroupRole } from "../signInDirectory.ts";

export function loadRoleChanges(db: Db, organizationId: string) {
  return listRecentRoleChanges(db, organizationId);
}
export type RoleChangeRow = Awaited<ReturnType<typeof loadRoleChanges>>[number];

const nothing = () => new AppError("conflict", "There is nothing left to do for that run: it was already handled.");

export async function applyHeldRoles(db: Db, viewer: Viewer, runId: string, now: number) {
  const organizationId = viewer.organizationId;
  const held = await findRunRoleChanges(db, organizationId, runId, "held");
  if (held.length === 0) throw nothing();
  const writes: Write[] = [];
  const still = held.filter((c) => c.role_now === c.from_role);
  for (const c of still) {
    const decidingGroup = c.deciding_group ? (JSON.parse(c.deciding_group) as { id: string; name: string }) : null;
    const decision = {
      role: c.to_role,
      rule: c.rule,
      matched: decidingGroup ? [{ ...decidingGroup, role: c.to_role }] : [],
      decidingGroup,
    };
    writes.push(
      ...applyGroupRole(db, { organizationId, userId: c.user_id, role: c.from_role }, { ok: true, decision, graphReadAt: now }, now, runId),
    );
  }
  writes.push(
    setRunRoleChangesState(db, { organizationId, runId, from: "held", to: "applied", userIds: still.map((c) => c.user_id) }),
    setRunRoleChangesState(db, { organizationId, runId, from: "held", to: "dismissed" }),
    insertViewerAuditEvent(db, viewer, { action: "sync.roles_applied", details: { runId, applied: still.length } }, now),
  );
  await runStatements(db, writes);
}

export async function dismissHeldRoles(db: Db, viewer: Viewer, runId: string, now: number) {
  const organizationId = viewer.organizationId;
  const held = await findRunRoleChanges(db, organizationId, runId, "held");
  if (held.length === 0) throw nothing();
  await runStatements(db, [
    setRunRoleChangesState(db, { organizationId, runId, from: "held", to: "dismissed" }),
    insertViewerAuditEvent(db, viewer, { action: "sync.roles_dismissed", details: { runId, dismissed: held.length } }, now),
  ]);
}

/** Puts back exactly the roles the run changed, for the members still in the role it gave them. */
export async function undoRoleChanges(db: Db, viewer: Viewer, runId: string, now: number) {
  const organizationId = viewer.organizationId;
  const applied = await findRunRoleChanges(db, organizationId, runId, "applied");
  if (applied.length === 0) throw nothing();
  const still = applied.filter((c) => c.role_now === c.to_role);
  const writes: Write[] = still.flatMap((c) =>
    changeRoleStatements(db, { organizationId, userId: c.user_id, from: c.to_role, to: c.from_role, actorUserId: viewer.userId, now }),
  );
  writes.push(
    setRunRoleChangesState(db, { organizationId, runId, from: "applied", to: "undone" }),
    insertViewerAuditEvent(db, viewer, { action: "sync.roles_undone", details: { runId, restored: still.length } }, now),
  );
  await runStatements(db, writes);
}
