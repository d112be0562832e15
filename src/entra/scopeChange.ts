// Changing the sync scope on the Entra page (issue 20): its effect is shown before it is saved, and
// saved only from a plan made again at that moment (a posted list is never trusted). The plan
// reads the directory as Import does (bounded the same way) and judges the organization's members
// linked to the tenant against the proposed scope:
// - would be added: enabled members of the tenant in the new scope who are not members yet (what
//   auto-provisioning at sign-in, Import and Add new people automatically may bring in);
// - would be deactivated: active linked members outside the new scope ("left the sync scope"),
//   never the last Owner;
// - would be reactivated: members deactivated for leaving the scope who are back in it.
import type { Viewer } from "../context.ts";
import { insertAuditEvent } from "../db/audit.ts";
import type { Db } from "../db/client.ts";
import { findConnectionSummary } from "../db/connections.ts";
import { deactivateLeftScope, listLinkedStandings, reactivateBackInScope } from "../db/scopeMembers.ts";
import { runStatements, type Write } from "../db/statements.ts";
import { findScope, saveScope, type SyncScope } from "../db/syncScope.ts";
import { MAX_SCOPE_GROUPS, type SyncScopeMode } from "../db/schema.ts";
import type { Config } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";
import { isDirectoryGuest, isProvisionableMember, listDirectoryUsers, listGroupMembers, type DirectoryUser } from "./directory.ts";
import { findDirectoryGroup, withInteractiveGraph } from "./interactiveGraph.ts";

/** Directory users a scope preview may read at once (as Import). */
const MAX_USERS_READ = 100_000;
/** Names shown per list. */
const SAMPLE_SIZE = 20;
/** Members changed per D1 batch (four statements each list; Owners one by one). */
const MEMBERS_PER_BATCH = 500;

export interface ProposedScope {
  mode: SyncScopeMode;
  groupIds: string[];
  domains: string[];
}

interface PersonList {
  count: number;
  names: string[];
}

export interface ScopePlan {
  proposed: ProposedScope;
  groups: { id: string; name: string }[];
  current: SyncScope;
  usersRead: number;
  added: PersonList;
  deactivated: PersonList & { userIds: string[]; owners: string[] };
  reactivated: PersonList & { userIds: string[] };
  /** Active Owners who would leave the scope but stay, being the last. */
  lastOwnerKept: boolean;
}

const list = (): PersonList => ({ count: 0, names: [] });
const note = (into: PersonList, name: string) => {
  into.count++;
  if (into.names.length < SAMPLE_SIZE) into.names.push(name);
};

export async function planScopeChange(db: Db, config: Config, viewer: Viewer, proposed: ProposedScope): Promise<ScopePlan> {
  const connection = await findConnectionSummary(db, viewer.organizationId);
  if (connection?.status !== "connected" || !connection.tenantId)
    throw new AppError("conflict", "Connect Entra ID before choosing its sync scope.");
  const tenantId = connection.tenantId;
  const current = await findScope(db, viewer.organizationId);
  const known = new Set(current.domains.map((d) => d.name));
  const unknown = proposed.domains.find((d) => !known.has(d));
  if (unknown) throw new AppError("invalid_input", `${unknown} is not one of the tenant's verified domains.`);
  if (proposed.mode === "groups" && proposed.groupIds.length === 0) throw new AppError("invalid_input", "Choose at least one group.");
  if (proposed.groupIds.length > MAX_SCOPE_GROUPS) throw new AppError("invalid_input", `Choose at most ${MAX_SCOPE_GROUPS} groups.`);
  const linked = await listLinkedStandings(db, viewer.organizationId, tenantId);

  return withInteractiveGraph(db, config, viewer.organizationId, async (graph) => {
    const groups = proposed.mode === "groups" ? await Promise.all(proposed.groupIds.map((id) => findDirectoryGroup(graph, id))) : [];
    const inScope = new Map<string, DirectoryUser>();
    let usersRead = 0;
    const sources = proposed.mode === "domains" ? [listDirectoryUsers(graph)] : groups.map((g) => listGroupMembers(graph, g.id));
    for (const source of sources) {
      for await (const page of source) {
        usersRead += page.values.length;
        if (usersRead > MAX_USERS_READ) {
          throw new AppError(
            "conflict",
            `Previewing this scope would read more than ${MAX_USERS_READ.toLocaleString("en-US")} directory users at once.`,
          );
        }
        for (const user of page.values) {
          if (!isDirectoryGuest(user) && isProvisionableMember(user, proposed.domains)) inScope.set(user.id.toLowerCase(), user);
        }
      }
    }

    const plan: ScopePlan = {
      proposed,
      groups,
      current,
      usersRead,
      added: list(),
      deactivated: { ...list(), userIds: [], owners: [] },
      reactivated: { ...list(), userIds: [] },
      lastOwnerKept: false,
    };
    const members = new Set<string>();
    let activeOwners = linked.filter((m) => m.role === "owner" && m.status === "active").length;
    for (const member of linked) {
      const oid = member.oid.toLowerCase();
      members.add(oid);
      const within = inScope.has(oid);
      if (member.status === "active" && !within) {
        if (member.role === "owner") {
          // The last active Owner stays, whatever the scope says.
          if (activeOwners <= 1) {
            plan.lastOwnerKept = true;
            continue;
          }
          activeOwners--;
          plan.deactivated.owners.push(member.user_id);
        } else plan.deactivated.userIds.push(member.user_id);
        note(plan.deactivated, member.name);
      } else if (member.status === "deactivated" && member.reason === "left_scope" && within) {
        plan.reactivated.userIds.push(member.user_id);
        note(plan.reactivated, member.name);
      }
    }
    for (const [oid, user] of inScope) {
      if (!members.has(oid) && user.accountEnabled !== false) note(plan.added, user.displayName || user.userPrincipalName || user.id);
    }
    return plan;
  });
}

/** Saves the scope from a plan made now, deactivates who left it and reactivates who came back; audited. */
export async function applyScopeChange(db: Db, config: Config, viewer: Viewer, proposed: ProposedScope, now: number): Promise<ScopePlan> {
  const plan = await planScopeChange(db, config, viewer, proposed);
  const { organizationId, userId: actorUserId } = viewer;
  await runStatements(db, [
    ...saveScope(db, organizationId, { mode: proposed.mode, groups: plan.groups, chosenDomains: proposed.domains }, actorUserId, now),
    insertAuditEvent(db, {
      organizationId,
      actorUserId,
      action: "entra.scope_changed",
      details: {
        mode: proposed.mode,
        groups: plan.groups.map((g) => g.name),
        domains: proposed.domains,
        wouldAdd: plan.added.count,
        deactivated: plan.deactivated.count,
        reactivated: plan.reactivated.count,
      },
      now,
    }),
  ]);
  const writes: Write[][] = [];
  for (let i = 0; i < plan.deactivated.userIds.length; i += MEMBERS_PER_BATCH) {
    writes.push([
      ...deactivateLeftScope(db, { organizationId, userIds: plan.deactivated.userIds.slice(i, i + MEMBERS_PER_BATCH), actorUserId, now }),
    ]);
  }
  // Owners one at a time: each statement's guard sees the ones before it gone, so the last one stays.
  if (plan.deactivated.owners.length > 0) {
    writes.push(
      plan.deactivated.owners.flatMap((owner) => [...deactivateLeftScope(db, { organizationId, userIds: [owner], actorUserId, now })]),
    );
  }
  for (let i = 0; i < plan.reactivated.userIds.length; i += MEMBERS_PER_BATCH) {
    writes.push([
      ...reactivateBackInScope(db, { organizationId, userIds: plan.reactivated.userIds.slice(i, i + MEMBERS_PER_BATCH), actorUserId, now }),
    ]);
  }
  for (const batch of writes) await runStatements(db, batch);
  return plan;
}
