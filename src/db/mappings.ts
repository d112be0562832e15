// Group → role mappings (by Entra group object id) and the last decision per member.
import { and, asc, eq } from "drizzle-orm";
import type { Db } from "./client.ts";
import { entraConnections, groupRoleMappings, roleDecisions, type MappableRole, type Role } from "./schema.ts";

export function listMappings(db: Db, organizationId: string) {
  return db
    .select({ groupId: groupRoleMappings.groupId, groupName: groupRoleMappings.groupName, role: groupRoleMappings.role })
    .from(groupRoleMappings)
    .where(eq(groupRoleMappings.organizationId, organizationId))
    .orderBy(asc(groupRoleMappings.groupName));
}

/** The mappings of the organization connected to a tenant, keyed by tenant: sign-in reads them in its one read batch. */
export function listMappingsOfTenant(db: Db, tenantId: string) {
  return db
    .select({ groupId: groupRoleMappings.groupId, groupName: groupRoleMappings.groupName, role: groupRoleMappings.role })
    .from(groupRoleMappings)
    .innerJoin(entraConnections, eq(entraConnections.organizationId, groupRoleMappings.organizationId))
    .where(eq(entraConnections.tenantId, tenantId))
    .orderBy(asc(groupRoleMappings.groupName));
}

export function saveMapping(
  db: Db,
  organizationId: string,
  mapping: { groupId: string; groupName: string; role: MappableRole },
  now: number,
) {
  return db
    .insert(groupRoleMappings)
    .values({ organizationId, ...mapping, createdAt: now })
    .onConflictDoUpdate({
      target: [groupRoleMappings.organizationId, groupRoleMappings.groupId],
      set: { groupName: mapping.groupName, role: mapping.role },
    });
}

export function deleteMapping(db: Db, organizationId: string, groupId: string) {
  return db
    .delete(groupRoleMappings)
    .where(and(eq(groupRoleMappings.organizationId, organizationId), eq(groupRoleMappings.groupId, groupId)))
    .returning({ groupId: groupRoleMappings.groupId, groupName: groupRoleMappings.groupName, role: groupRoleMappings.role });
}

/** Keeps the stored name in step with the directory (groups get renamed). */
export function renameMappedGroup(db: Db, organizationId: string, groupId: string, groupName: string) {
  return db
    .update(groupRoleMappings)
    .set({ groupName })
    .where(and(eq(groupRoleMappings.organizationId, organizationId), eq(groupRoleMappings.groupId, groupId)));
}

export function saveDefaultRole(db: Db, organizationId: string, role: MappableRole, now: number) {
  return db
    .update(entraConnections)
    .set({ defaultRole: role, updatedAt: now })
    .where(and(eq(entraConnections.organizationId, organizationId), eq(entraConnections.status, "connected")))
    .returning({ organizationId: entraConnections.organizationId });
}

interface RoleDecisionRecord {
  organizationId: string;
  userId: string;
  role: Role;
  rule: "group" | "default" | "owner_kept" | "graph_failed";
  matchedGroups: { id: string; name: string; role: MappableRole }[];
  decidingGroup: { id: string; name: string } | null;
  graphReadAt: number | null;
  now: number;
}

export function saveRoleDecision(db: Db, decision: RoleDecisionRecord) {
  const values = {
    role: decision.role,
    rule: decision.rule,
    matchedGroups: decision.matchedGroups,
    decidingGroup: decision.decidingGroup,
    graphReadAt: decision.graphReadAt,
    decidedAt: decision.now,
  };
  return db
    .insert(roleDecisions)
    .values({ organizationId: decision.organizationId, userId: decision.userId, ...values })
    .onConflictDoUpdate({ target: [roleDecisions.organizationId, roleDecisions.userId], set: values });
}

const DECISION_COLUMNS = {
  userId: roleDecisions.userId,
  role: roleDecisions.role,
  rule: roleDecisions.rule,
  matchedGroups: roleDecisions.matchedGroups,
  decidingGroup: roleDecisions.decidingGroup,
  graphReadAt: roleDecisions.graphReadAt,
  decidedAt: roleDecisions.decidedAt,
};

export function listRoleDecisions(db: Db, organizationId: string) {
  return db.select(DECISION_COLUMNS).from(roleDecisions).where(eq(roleDecisions.organizationId, organizationId));
}

export type RoleDecisionRow = Awaited<ReturnType<typeof listRoleDecisions>>[number];

/** One member's last group → role decision (the member page's "Managed by Group → Role mapping"). */
export async function findRoleDecision(db: Db, organizationId: string, userId: string): Promise<RoleDecisionRow | null> {
  const [row] = await db
    .select(DECISION_COLUMNS)
    .from(roleDecisions)
    .where(and(eq(roleDecisions.organizationId, organizationId), eq(roleDecisions.userId, userId)));
  return row ?? null;
}

/** Everything tied to one tenant's groups: dropped when an organization connects another tenant. */
export function deleteTenantGroupData(db: Db, organizationId: string) {
  return [
    db.delete(groupRoleMappings).where(eq(groupRoleMappings.organizationId, organizationId)),
    db.delete(roleDecisions).where(eq(roleDecisions.organizationId, organizationId)),
  ] as const;
}
