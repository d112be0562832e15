// The group → role mapping editor: the mapping list with names kept in step with the directory,
// a preview of who would gain or lose which role at their next sign-in, and applying a change
// (audited). The posted group id is checked against the directory; its name always comes from Graph.
import { roleRank } from "../auth/access.ts";
import type { Viewer } from "../context.ts";
import { insertAuditEvent } from "../db/audit.ts";
import type { Db } from "../db/client.ts";
import { findConnectionSummary, type ConnectionSummary } from "../db/connections.ts";
import { listTenantLinkedMembers } from "../db/importedMembers.ts";
import { deleteMapping, listMappings, renameMappedGroup, saveDefaultRole, saveMapping } from "../db/mappings.ts";
import type { MappableRole } from "../db/schema.ts";
import type { Config } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";
import { findDirectoryGroup, withInteractiveGraph } from "./interactiveGraph.ts";
import { readGroup, readTransitiveGroups } from "./directory.ts";
import { GraphError, type GraphClient } from "./graph.ts";
import { resolveRoleFromGroups, type GroupMapping } from "../people/groupRoles.ts";
import { runStatements } from "../db/statements.ts";
import { markMappingEdited } from "../db/mappingEdits.ts";

/** Every edit's notice: when it reaches the people already in UniAsset (src/entra/sync/remap.ts). */
const AT_NEXT_RUN = "The change applies to everyone at the next directory run (tonight, or Sync now), and at each sign-in until then.";

/** Keeps the editor's Graph reads bounded: mappings per organization, members read for a preview. */
const MAX_MAPPINGS = 50;
const PREVIEW_MEMBER_CAP = 100;
/** Parallel Graph reads (Workers allow six open connections per request). */
const GRAPH_PARALLELISM = 5;

export type MappingChange =
  | { change: "add"; groupId: string; role: MappableRole }
  | { change: "remove"; groupId: string }
  | { change: "default"; role: MappableRole };

interface MappingListEntry extends GroupMapping {
  /** The group is no longer in the directory (deleted there). */
  missing: boolean;
}

export interface MappingSection {
  connected: boolean;
  mappingOn: boolean;
  defaultRole: MappableRole;
  mappings: MappingListEntry[];
  /** Graph could not be read: names shown are the stored ones. */
  namesStale: boolean;
}

async function connectedSummary(db: Db, organizationId: string): Promise<ConnectionSummary> {
  const connection = await findConnectionSummary(db, organizationId);
  if (connection?.status !== "connected") throw new AppError("conflict", "Connect Entra ID before mapping groups to roles.");
  return connection;
}

/** The list as the directory names the groups now; a renamed group's stored name is updated. */
export async function loadMappingSection(db: Db, config: Config, organizationId: string): Promise<MappingSection> {
  const connection = await findConnectionSummary(db, organizationId);
  const mappings = await listMappings(db, organizationId);
  const base = {
    connected: connection?.status === "connected",
    mappingOn: !!connection?.groupRoleMapping,
    defaultRole: connection?.defaultRole ?? "member",
  };
  if (!base.connected || mappings.length === 0)
    return { ...base, mappings: mappings.map((m) => ({ ...m, missing: false })), namesStale: false };
  try {
    const current = await withInteractiveGraph(db, config, organizationId, (graph) =>
      mapBounded(mappings, (m) => readGroupOrNull(graph, m.groupId)),
    );
    const renamed = mappings.flatMap((m, i) => {
      const name = current[i]?.displayName;
      return name && name !== m.groupName ? [{ ...m, groupName: name }] : [];
    });
    if (renamed.length > 0) {
      await db.batch(
        renamed.map((m) => renameMappedGroup(db, organizationId, m.groupId, m.groupName)) as [ReturnType<typeof renameMappedGroup>],
      );
    }
    const entries = mappings.map((m, i) => ({ ...m, groupName: current[i]?.displayName ?? m.groupName, missing: current[i] === null }));
    entries.sort((a, b) => a.groupName.localeCompare(b.groupName));
    return { ...base, mappings: entries, namesStale: false };
  } catch (error) {
    // The list stays usable with the stored names; changes still need Graph and say so.
    if (!(error instanceof AppError)) throw error;
    return { ...base, mappings: mappings.map((m) => ({ ...m, missing: false })), namesStale: true };
  }
}

async function readGroupOrNull(graph: GraphClient, groupId: string) {
  try {
    return await readGroup(graph, groupId);
  } catch (error) {
    if (error instanceof GraphError && error.kind === "not_found") return null;
    throw error;
  }
}

interface RoleChangePreview {
  userId: string;
  displayName: string;
  from: MappableRole;
  to: MappableRole;
  /** The group whose mapping decides the new role; null: the default role. */
  becauseOf: string | null;
}

export interface MappingPreview {
  change: MappingChange;
  /** What the change is, in words: the group's current name from the directory. */
  groupName: string | null;
  previousRole: MappableRole | null;
  gains: RoleChangePreview[];
  losses: RoleChangePreview[];
  membersChecked: number;
  /** Linked members beyond the cap, not checked (they still get the rule at their sign-in). */
  membersNotChecked: number;
  /** Linked members no longer in the directory. */
  membersNotFound: number;
  mappingOn: boolean;
}

/** What the change would do at each linked member's next sign-in, read from the directory now. */
export async function previewMappingChange(db: Db, config: Config, viewer: Viewer, change: MappingChange): Promise<MappingPreview> {
  const connection = await connectedSummary(db, viewer.organizationId);
  const tenantId = connection.tenantId!;
  const mappings: GroupMapping[] = await listMappings(db, viewer.organizationId);
  const existing = "groupId" in change ? mappings.find((m) => m.groupId.toLowerCase() === change.groupId.toLowerCase()) : undefined;
  if (change.change === "remove" && !existing) throw new AppError("not_found", "That group is not mapped.");
  if (change.change === "add" && !existing && mappings.length >= MAX_MAPPINGS) {
    throw new AppError("conflict", `An organization can map at most ${MAX_MAPPINGS} groups. Remove one first.`);
  }
  // Owners never change, and deactivated members cannot sign in: neither needs a Graph read.
  const candidates = (await listTenantLinkedMembers(db, viewer.organizationId, tenantId)).filter(
    (m) => m.role !== "owner" && m.status === "active",
  );
  const checked = candidates.slice(0, PREVIEW_MEMBER_CAP);

  return withInteractiveGraph(db, config, viewer.organizationId, async (graph) => {
    const group = change.change === "add" ? await findDirectoryGroup(graph, change.groupId) : null;
    const proposed = proposeMappings(mappings, change, group);
    const proposedDefault = change.change === "default" ? change.role : connection.defaultRole;
    const groupsOfMembers = await mapBounded(checked, (m) => readTransitiveGroupsOrNull(graph, m.oid));
    const gains: RoleChangePreview[] = [];
    const losses: RoleChangePreview[] = [];
    checked.forEach((member, i) => {
      const groups = groupsOfMembers[i];
      if (!groups) return;
      const before = resolveRoleFromGroups(groups, mappings, connection.defaultRole);
      const after = resolveRoleFromGroups(groups, proposed, proposedDefault);
      if (before.role === after.role) return;
      const entry = {
        userId: member.userId,
        displayName: member.displayName,
        from: before.role,
        to: after.role,
        becauseOf: after.decidingGroup?.name ?? null,
      };
      (roleRank(after.role) > roleRank(before.role) ? gains : losses).push(entry);
    });
    return {
      change,
      groupName: group?.name ?? existing?.groupName ?? null,
      previousRole: existing?.role ?? (change.change === "default" ? connection.defaultRole : null),
      gains,
      losses,
      membersChecked: checked.length,
      membersNotChecked: candidates.length - checked.length,
      membersNotFound: groupsOfMembers.filter((g) => g === null).length,
      mappingOn: connection.groupRoleMapping,
    };
  });
}

function proposeMappings(mappings: GroupMapping[], change: MappingChange, group: { id: string; name: string } | null): GroupMapping[] {
  if (change.change === "default") return mappings;
  const others = mappings.filter((m) => m.groupId.toLowerCase() !== change.groupId.toLowerCase());
  if (change.change === "remove") return others;
  return [...others, { groupId: group!.id, groupName: group!.name, role: change.role }];
}

async function readTransitiveGroupsOrNull(graph: GraphClient, oid: string) {
  try {
    return await readTransitiveGroups(graph, oid);
  } catch (error) {
    if (error instanceof GraphError && error.kind === "not_found") return null;
    throw error;
  }
}

/** Applies a change (after the preview): audited; the group is read from the directory again. */
export async function applyMappingChange(db: Db, config: Config, viewer: Viewer, change: MappingChange, now: number): Promise<string> {
  const connection = await connectedSummary(db, viewer.organizationId);
  const organizationId = viewer.organizationId;
  const audit = (details: Record<string, unknown>) =>
    insertAuditEvent(db, { organizationId, actorUserId: viewer.userId, action: "entra.mapping_changed", details, now });

  if (change.change === "default") {
    if (change.role === connection.defaultRole) return "The default role is unchanged.";
    await runStatements(db, [
      saveDefaultRole(db, organizationId, change.role, now),
      markMappingEdited(organizationId, now),
      audit({ change: "default_role", role: change.role, previousRole: connection.defaultRole }),
    ]);
    return `Members matching no mapped group now get the ${change.role} role. ${AT_NEXT_RUN}`;
  }

  const mappings = await listMappings(db, organizationId);
  const existing = mappings.find((m) => m.groupId.toLowerCase() === change.groupId.toLowerCase());
  if (change.change === "remove") {
    if (!existing) throw new AppError("not_found", "That group is not mapped.");
    await runStatements(db, [
      deleteMapping(db, organizationId, existing.groupId),
      markMappingEdited(organizationId, now),
      audit({ change: "removed", groupId: existing.groupId, groupName: existing.groupName, role: existing.role }),
    ]);
    return `${existing.groupName} is no longer mapped. ${AT_NEXT_RUN}`;
  }

  if (!existing && mappings.length >= MAX_MAPPINGS) {
    throw new AppError("conflict", `An organization can map at most ${MAX_MAPPINGS} groups. Remove one first.`);
  }
  const group = await withInteractiveGraph(db, config, organizationId, (graph) => findDirectoryGroup(graph, change.groupId));
  if (existing?.role === change.role && existing.groupName === group.name) return `${group.name} already gives the ${change.role} role.`;
  await runStatements(db, [
    saveMapping(db, organizationId, { groupId: group.id, groupName: group.name, role: change.role }, now),
    markMappingEdited(organizationId, now),
    audit({
      change: existing ? "changed" : "added",
      groupId: group.id,
      groupName: group.name,
      role: change.role,
      previousRole: existing?.role ?? null,
    }),
  ]);
  return `Members of ${group.name} now get the ${change.role} role. ${AT_NEXT_RUN}`;
}

/** Runs `work` over `items` with at most GRAPH_PARALLELISM in flight, results in input order. */
async function mapBounded<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  async function lane() {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  }
  await Promise.all(Array.from({ length: Math.min(GRAPH_PARALLELISM, items.length) }, lane));
  return results;
}
