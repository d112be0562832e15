// Group → role mapping: which UniAsset role a person's Entra groups give them. Pure.
import { roleRank } from "../auth/access.ts";
import type { MappableRole } from "../db/schema.ts";

export interface GroupMapping {
  groupId: string;
  groupName: string;
  role: MappableRole;
}

export interface DirectoryGroup {
  id: string;
  displayName: string | null;
}

export interface RoleDecision {
  role: MappableRole;
  /** "group": a mapped group decided; "default": none matched. */
  rule: "group" | "default";
  /** Every mapped group the person is in (names as Graph reports them now). */
  matched: { id: string; name: string; role: MappableRole }[];
  decidingGroup: { id: string; name: string } | null;
}

/** The highest role among the mapped groups the person is in; otherwise the default role. */
export function resolveRoleFromGroups(
  groups: readonly DirectoryGroup[],
  mappings: readonly GroupMapping[],
  defaultRole: MappableRole,
): RoleDecision {
  const names = new Map(groups.map((g) => [g.id.toLowerCase(), g.displayName]));
  const matched = mappings
    .filter((m) => names.has(m.groupId.toLowerCase()))
    .map((m) => ({ id: m.groupId, name: names.get(m.groupId.toLowerCase()) ?? m.groupName, role: m.role }))
    .sort((a, b) => roleRank(b.role) - roleRank(a.role) || a.name.localeCompare(b.name));
  const winner = matched[0];
  if (!winner) return { role: defaultRole, rule: "default", matched, decidingGroup: null };
  return { role: winner.role, rule: "group", matched, decidingGroup: { id: winner.id, name: winner.name } };
}
