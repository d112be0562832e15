// A member's decision in a run that re-decides everyone after a mapping edit (remap.ts), and the
// "Why this role" of those whose role it keeps (issue 19). An edit that leaves a member's role as
// it was may still change why they have it: another mapped group now decides it, or the default
// role does. The run that applies the edit writes their decision again, so the Users page never
// names a group that no longer decides; only those whose rule or deciding group differ from their
// decision row cost a write.
import type { RemapMember } from "../../db/mappingEdits.ts";
import type { MappableRole } from "../../db/schema.ts";
import type { RefreshedDecision } from "../../db/whyThisRole.ts";
import { resolveRoleFromGroups, type GroupMapping, type RoleDecision } from "../../people/groupRoles.ts";

interface Mapping {
  mappings: GroupMapping[];
  defaultRole: MappableRole;
}

/** The mapped groups' names by lower-cased id, made once per plan rather than once per member. */
const namesOfPlan = new WeakMap<Mapping, Map<string, string>>();

/** The rule sign-in uses, on the mapped groups the run found the member in. */
export function decisionOf(member: RemapMember, plan: Mapping): RoleDecision {
  const ids = member.groups ? (JSON.parse(member.groups) as string[]) : [];
  let byId = namesOfPlan.get(plan);
  if (!byId) {
    byId = new Map(plan.mappings.map((m) => [m.groupId.toLowerCase(), m.groupName]));
    namesOfPlan.set(plan, byId);
  }
  const groups = ids.map((id) => ({ id, displayName: byId.get(id.toLowerCase()) ?? null }));
  return resolveRoleFromGroups(groups, plan.mappings, plan.defaultRole);
}

/** The member's refreshed decision when their role stays but its reason changed; else nothing. */
export function staleWhy(member: RemapMember, decision: RoleDecision): RefreshedDecision[] {
  if (member.role === "owner") return [];
  const decidingGroupId = decision.decidingGroup?.id.toLowerCase() ?? null;
  if (member.decided_rule === decision.rule && (member.decided_group_id?.toLowerCase() ?? null) === decidingGroupId) return [];
  return [
    {
      userId: member.user_id,
      role: decision.role,
      rule: decision.rule,
      matchedGroups: decision.matched,
      decidingGroup: decision.decidingGroup,
    },
  ];
}
