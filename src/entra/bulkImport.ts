// Bulk import: pre-create directory users so they exist before their first sign-in. Preview and
// apply run the same planImport() against the directory (apply never trusts a posted list), so
// both see the same set. Writes go in D1 batches; a huge import is applied in chunks that the page
// continues one request after another, each re-reading the directory (what is there is skipped).
import type { Viewer } from "../context.ts";
import { insertAuditEvent } from "../db/audit.ts";
import type { Db } from "../db/client.ts";
import { findConnectionSummary } from "../db/connections.ts";
import { findScope } from "../db/syncScope.ts";
import { importPersonStatements, listTenantIdentities, type ImportedPerson } from "../db/importedMembers.ts";
import { runStatements } from "../db/statements.ts";
import { listMappings } from "../db/mappings.ts";
import type { MappableRole } from "../db/schema.ts";
import type { Config } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";
import { findDirectoryGroup, withInteractiveGraph } from "./interactiveGraph.ts";
import {
  isDirectoryGuest,
  isProvisionableMember,
  listDirectoryUsers,
  listGroupMembers,
  searchGroups,
  type DirectoryUser,
} from "./directory.ts";
import { GraphError, type GraphClient } from "./graph.ts";
import { resolveRoleFromGroups, type DirectoryGroup, type GroupMapping } from "../people/groupRoles.ts";

/** Users read from Graph per request (all pages of every read together): bounds CPU and memory. */
const MAX_USERS_READ = 100_000;
/** New people written per request; the page continues with the next chunk. */
const APPLY_CHUNK = 1_000;
/** People per D1 batch: five statements each stays within ~100 statements per batch. */
const PEOPLE_PER_BATCH = 20;
/** First names shown per category in the preview. */
const SAMPLE_SIZE = 10;
export const MAX_IMPORT_GROUPS = 20;

export type ImportScope = { scope: "all" } | { scope: "groups"; groupIds: string[] };

type Category = "new" | "present" | "guests" | "disabled" | "outsideDomains";

export interface ImportPlan {
  /** The tenant the directory was read from: identities are written under this one. */
  tenantId: string;
  scope: ImportScope;
  groups: { id: string; name: string }[];
  usersRead: number;
  counts: Record<Category, number>;
  samples: Record<Category, string[]>;
  /** How many new people each role would get. */
  rolesOfNew: Partial<Record<MappableRole, number>>;
  mappingOn: boolean;
  newPeople: ImportedPerson[];
}

interface RoleContext {
  mappingOn: boolean;
  defaultRole: MappableRole;
  mappings: GroupMapping[];
  /** Members (oids) of each mapped group, nested included. */
  mappedMembers: Map<string, Set<string>>;
  readAt: number;
}

/**
 * Groups found by name, plus the ones already ticked (read from the directory by id, so a posted
 * name is never shown), without repeats.
 */
export async function searchImportGroups(db: Db, config: Config, organizationId: string, text: string, chosenIds: string[]) {
  if (!text && chosenIds.length === 0) return { found: [], chosen: [] };
  return withInteractiveGraph(db, config, organizationId, async (graph) => {
    const chosen = await Promise.all(chosenIds.map((id) => findDirectoryGroup(graph, id)));
    const found = text ? await searchGroups(graph, text) : [];
    const ticked = new Set(chosen.map((g) => g.id.toLowerCase()));
    return {
      found: found.filter((g) => !ticked.has(g.id.toLowerCase())),
      chosen: chosen.map((g) => ({ id: g.id, displayName: g.name })),
    };
  });
}

export async function planImport(db: Db, config: Config, viewer: Viewer, scope: ImportScope, now: number): Promise<ImportPlan> {
  const connection = await findConnectionSummary(db, viewer.organizationId);
  if (connection?.status !== "connected" || !connection.tenantId)
    throw new AppError("conflict", "Connect Entra ID before importing users.");
  // Only people in the sync scope are offered (issue 20): its chosen domains, and with a group
  // scope only members of its groups.
  const syncScope = await findScope(db, viewer.organizationId);
  const domains =
    syncScope.domains.length > 0 ? syncScope.domains.filter((d) => d.chosen).map((d) => d.name) : (connection.verifiedDomains ?? []);
  if ((connection.verifiedDomains ?? []).length === 0) {
    throw new AppError("conflict", "The tenant's verified domains are not known yet: refresh the Integrations page, then try again.");
  }
  const tenantId = connection.tenantId;
  const [identities, mappings] = await Promise.all([
    listTenantIdentities(db, viewer.organizationId, tenantId),
    connection.groupRoleMapping ? listMappings(db, viewer.organizationId) : Promise.resolve([]),
  ]);
  const present = new Set(identities.filter((i) => i.membershipStatus !== null).map((i) => i.oid.toLowerCase()));

  return withInteractiveGraph(db, config, viewer.organizationId, async (graph) => {
    const budget = { usersRead: 0 };
    const groups = scope.scope === "groups" ? await Promise.all(scope.groupIds.map((id) => findDirectoryGroup(graph, id))) : [];
    const roles: RoleContext = {
      mappingOn: connection.groupRoleMapping,
      defaultRole: connection.defaultRole,
      mappings,
      mappedMembers: new Map(),
      readAt: now,
    };
    for (const mapping of mappings)
      roles.mappedMembers.set(mapping.groupId.toLowerCase(), await memberOidsOf(graph, mapping.groupId, budget));

    const plan: ImportPlan = {
      tenantId,
      scope,
      groups,
      usersRead: 0,
      counts: { new: 0, present: 0, guests: 0, disabled: 0, outsideDomains: 0 },
      samples: { new: [], present: [], guests: [], disabled: [], outsideDomains: [] },
      rolesOfNew: {},
      mappingOn: connection.groupRoleMapping,
      newPeople: [],
    };
    const seen = new Set<string>();
    // A group scope: its groups' members (nested included) are who may be imported at all.
    const scopeGroups = syncScope.mode === "groups" ? syncScope.groups : [];
    const inScopeGroups = new Set<string>();
    for (const group of scopeGroups) for (const oid of await memberOidsOf(graph, group.id, budget)) inScopeGroups.add(oid);
    const sources =
      scope.scope === "all"
        ? scopeGroups.length > 0
          ? scopeGroups.map((g) => listGroupMembers(graph, g.id))
          : [listDirectoryUsers(graph)]
        : groups.map((g) => listGroupMembers(graph, g.id));
    for (const source of sources) {
      for await (const page of source) {
        countRead(budget, page.values.length);
        for (const user of page.values) {
          const oid = user.id.toLowerCase();
          if (seen.has(oid)) continue;
          seen.add(oid);
          const category =
            scopeGroups.length > 0 && !inScopeGroups.has(oid) && !isDirectoryGuest(user)
              ? "outsideDomains"
              : categorize(user, domains, present);
          plan.counts[category]++;
          if (plan.samples[category].length < SAMPLE_SIZE) plan.samples[category].push(nameOf(user));
          if (category === "new") {
            const person = personOf(user, roles);
            plan.newPeople.push(person);
            plan.rolesOfNew[person.role] = (plan.rolesOfNew[person.role] ?? 0) + 1;
          }
        }
      }
    }
    plan.usersRead = seen.size;
    return plan;
  });
}

function countRead(budget: { usersRead: number }, count: number) {
  budget.usersRead += count;
  if (budget.usersRead > MAX_USERS_READ) {
    throw new AppError(
      "conflict",
      `This import would read more than ${MAX_USERS_READ.toLocaleString("en-US")} directory users at once. Import the members of chosen groups instead.`,
    );
  }
}

async function memberOidsOf(graph: GraphClient, groupId: string, budget: { usersRead: number }): Promise<Set<string>> {
  const oids = new Set<string>();
  try {
    for await (const page of listGroupMembers(graph, groupId)) {
      countRead(budget, page.values.length);
      for (const user of page.values) oids.add(user.id.toLowerCase());
    }
  } catch (error) {
    // A mapped group deleted from the directory matches nobody, as at sign-in.
    if (error instanceof GraphError && error.kind === "not_found") return oids;
    throw error;
  }
  return oids;
}

function categorize(user: DirectoryUser, domains: readonly string[], present: Set<string>): Category {
  if (isDirectoryGuest(user)) return "guests";
  if (user.accountEnabled === false) return "disabled";
  if (!isProvisionableMember(user, domains)) return "outsideDomains";
  return present.has(user.id.toLowerCase()) ? "present" : "new";
}

function nameOf(user: DirectoryUser): string {
  return user.displayName || user.userPrincipalName || user.id;
}

function personOf(user: DirectoryUser, roles: RoleContext): ImportedPerson {
  const email = (user.mail || user.userPrincipalName || "").toLowerCase() || null;
  const base = { oid: user.id, email, displayName: nameOf(user) };
  if (!roles.mappingOn) return { ...base, role: roles.defaultRole, decision: null };
  const groups: DirectoryGroup[] = roles.mappings
    .filter((m) => roles.mappedMembers.get(m.groupId.toLowerCase())?.has(user.id.toLowerCase()))
    .map((m) => ({ id: m.groupId, displayName: m.groupName }));
  const decision = resolveRoleFromGroups(groups, roles.mappings, roles.defaultRole);
  return {
    ...base,
    role: decision.role,
    decision: { rule: decision.rule, matchedGroups: decision.matched, decidingGroup: decision.decidingGroup, graphReadAt: roles.readAt },
  };
}

export interface ImportResult {
  plan: ImportPlan;
  created: number;
  /** New people left for the next chunk. */
  remaining: number;
}

/** Re-reads the directory, links and activates up to APPLY_CHUNK new people, audits the counts. */
export async function applyImport(db: Db, config: Config, viewer: Viewer, scope: ImportScope, now: number): Promise<ImportResult> {
  const plan = await planImport(db, config, viewer, scope, now);
  const { tenantId } = plan;
  const chunk = plan.newPeople.slice(0, APPLY_CHUNK);
  for (let start = 0; start < chunk.length; start += PEOPLE_PER_BATCH) {
    const statements = chunk
      .slice(start, start + PEOPLE_PER_BATCH)
      .flatMap((person) => importPersonStatements(viewer.organizationId, tenantId, person, now));
    // One D1 batch, a transaction: a person is linked completely or not at all.
    await runStatements(db, statements);
  }
  const remaining = plan.counts.new - chunk.length;
  await insertAuditEvent(db, {
    organizationId: viewer.organizationId,
    actorUserId: viewer.userId,
    action: "entra.import_applied",
    details: {
      scope: scope.scope,
      groups: plan.groups,
      created: chunk.length,
      remaining,
      alreadyPresent: plan.counts.present,
      skippedGuests: plan.counts.guests,
      skippedDisabled: plan.counts.disabled,
      skippedOutsideDomains: plan.counts.outsideDomains,
      roles: Object.fromEntries(Object.entries(countRoles(chunk))),
    },
    now,
  }).run();
  return { plan, created: chunk.length, remaining };
}

function countRoles(people: ImportedPerson[]): Partial<Record<MappableRole, number>> {
  const counts: Partial<Record<MappableRole, number>> = {};
  for (const person of people) counts[person.role] = (counts[person.role] ?? 0) + 1;
  return counts;
}
