// Joiners (issue 20): with "Add new people automatically" on, every directory sync run adds each
// enabled person in the sync scope who is not a member yet, linked by their Entra object id, with
// the role group mapping gives them (the sign-in's decision, resolveRoleFromGroups) or the default
// role. The run's pages name the candidates (enabled, not linked: db/joiners.ts findUnlinkedAmong);
// this reads them from Graph in JSON $batch requests (the user, and their groups when a group scope
// or group mapping needs them), keeps those in scope and adds them, 20 people a D1 batch.
// A run that would add more people than the hold threshold allows adds nobody and says so in the
// audit log: a wrongly chosen scope must not silently add 50,000 people.
import type { Viewer } from "../context.ts";
import { insertAuditEvent, insertViewerAuditEvent } from "../db/audit.ts";
import type { Db } from "../db/client.ts";
import { findConnectionOfTenant, findConnectionSummary } from "../db/connections.ts";
import type { ImportedPerson } from "../db/importedMembers.ts";
import { addJoinersStatements, forgetHeldJoiners, heldJoinersSummary, holdJoinerStatements, listHeldJoiners } from "../db/joiners.ts";
import { listMappings } from "../db/mappings.ts";
import { forgetDeltaLink } from "../db/runEligibility.ts";
import { runStatements } from "../db/statements.ts";
import { saveAddNewPeople } from "../db/syncScope.ts";
import type { Config } from "../lib/config.ts";
import { resolveRoleFromGroups, type DirectoryGroup } from "../people/groupRoles.ts";
import { directoryUserSchema, groupSchema, isDirectoryGuest, isProvisionableMember, USER_FIELDS, type DirectoryUser } from "./directory.ts";
import { GRAPH_BUDGETS, batchPartFailure, batchReplySchema, type GraphClient } from "./graph.ts";
import { withOrganizationGraph, type TokenCache } from "./graphAccess.ts";
import { signInScope } from "./signInDirectory.ts";
import { syncFailureOf, type SyncFailure } from "./sync/failures.ts";
import { z } from "zod";
import { AppError } from "../lib/errors.ts";
import { followRunSettings } from "./runSettings.ts";

/** People added per D1 batch (about eight statements each). */
const PEOPLE_PER_BATCH = 20;
/** Graph's JSON batching takes at most 20 requests (https://learn.microsoft.com/graph/json-batching). */
const BATCH_REQUESTS = 20;

export async function setAddNewPeople(db: Db, config: Config, viewer: Viewer, enabled: boolean, now: number) {
  await runStatements(db, [
    saveAddNewPeople(db, viewer.organizationId, enabled, viewer.userId, now),
    // Turned on, the next run lists everyone, so it adds the people already in the directory
    // (runSettings.ts): in the same batch, so the setting never stands without it.
    ...(enabled ? [forgetDeltaLink(viewer.organizationId, now)] : []),
    insertViewerAuditEvent(
      db,
      viewer,
      { action: "entra.add_new_people_changed", details: { setting: "Add new people automatically", enabled } },
      now,
    ),
  ]);
  // Runs, and real-time updates, exist with this setting alone (issue 20).
  await followRunSettings(
    db,
    config,
    { organizationId: viewer.organizationId, actor: viewer.userId, setting: "addNewPeople", enabled },
    now,
  );
}

export interface JoinersRequest {
  organizationId: string;
  tenantId: string;
  oids: string[];
}

export type JoinersRead =
  | { ok: true; people: ImportedPerson[]; graphRequests: number; graphBytes: number }
  | { ok: false; reason: SyncFailure; graphRequests: number; graphBytes: number };

const groupsSchema = z.object({ value: z.array(groupSchema) });

/** Reads the candidates (and their groups when asked) in $batch requests of 20; a person Graph no longer has is skipped. */
async function readCandidates(graph: GraphClient, oids: readonly string[], withGroups: boolean) {
  const people: { user: DirectoryUser; groups: DirectoryGroup[] }[] = [];
  const perBatch = withGroups ? BATCH_REQUESTS / 2 : BATCH_REQUESTS;
  for (let i = 0; i < oids.length; i += perBatch) {
    const slice = oids.slice(i, i + perBatch);
    const requests = slice.flatMap((oid, n) => {
      const id = encodeURIComponent(oid);
      return [
        { id: `u${n}`, method: "GET", url: `/users/${id}?$select=${USER_FIELDS}` },
        ...(withGroups
          ? [{ id: `g${n}`, method: "GET", url: `/users/${id}/transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$top=999` }]
          : []),
      ];
    });
    const reply = await graph.post("/v1.0/$batch", { requests }, batchReplySchema);
    for (let n = 0; n < slice.length; n++) {
      const userPart = reply.responses.find((r) => r.id === `u${n}`);
      if (!userPart || userPart.status === 404) continue;
      if (userPart.status !== 200) throw batchPartFailure(userPart).error;
      const user = directoryUserSchema.parse(userPart.body);
      let groups: DirectoryGroup[] = [];
      if (withGroups) {
        const groupPart = reply.responses.find((r) => r.id === `g${n}`);
        if (!groupPart || groupPart.status !== 200)
          throw batchPartFailure(groupPart ?? { id: `g${n}`, status: 502, headers: null, body: null }).error;
        groups = groupsSchema.parse(groupPart.body).value.map((g) => ({ id: g.id, displayName: g.displayName ?? null }));
      }
      people.push({ user, groups });
    }
  }
  return people;
}

/** Reads a chunk of the run's candidates from Graph and keeps those in the sync scope, each with their role. */
export async function readJoiners(db: Db, config: Config, request: JoinersRequest, tokens: TokenCache, now: number): Promise<JoinersRead> {
  const counter = { requests: 0, bytes: 0 };
  const { organizationId, tenantId } = request;
  const [connection] = await findConnectionOfTenant(db, tenantId);
  if (!connection || connection.organizationId !== organizationId || connection.status !== "connected") {
    return { ok: true, people: [], graphRequests: 0, graphBytes: 0 };
  }
  const scope = signInScope(connection);
  const mappings = connection.groupRoleMapping ? await listMappings(db, organizationId) : [];
  const withGroups = scope.mode === "groups" || mappings.length > 0;
  let read: { user: DirectoryUser; groups: DirectoryGroup[] }[];
  try {
    read = await withOrganizationGraph(
      db,
      config,
      organizationId,
      (graph, graphTenant) => (graphTenant !== tenantId ? Promise.resolve([]) : readCandidates(graph, request.oids, withGroups)),
      { ...GRAPH_BUDGETS.background, lowPriority: true, counter, tokens },
    );
  } catch (error) {
    const reason = syncFailureOf(error);
    if (!reason) throw error;
    return {
      ok: false,
      reason: reason === "sync_state_gone" ? "internal" : reason,
      graphRequests: counter.requests,
      graphBytes: counter.bytes,
    };
  }
  const chosenGroups = new Set(scope.groupIds);
  const people: ImportedPerson[] = [];
  for (const { user, groups } of read) {
    if (isDirectoryGuest(user) || user.accountEnabled !== true || !isProvisionableMember(user, scope.domains)) continue;
    if (scope.mode === "groups" && !groups.some((g) => chosenGroups.has(g.id.toLowerCase()))) continue;
    const email = (user.mail || user.userPrincipalName || "").toLowerCase() || null;
    const base = { oid: user.id, email, displayName: user.displayName || user.userPrincipalName || user.id };
    if (mappings.length === 0) {
      people.push({ ...base, role: connection.defaultRole, decision: null });
      continue;
    }
    const decision = resolveRoleFromGroups(groups, mappings, connection.defaultRole);
    people.push({
      ...base,
      role: decision.role,
      decision: { rule: decision.rule, matchedGroups: decision.matched, decidingGroup: decision.decidingGroup, graphReadAt: now },
    });
  }
  return { ok: true, people, graphRequests: counter.requests, graphBytes: counter.bytes };
}

/** Whether adding `count` people is more than the hold threshold allows (as for deactivations). */
export function joinersExceedThreshold(count: number, threshold: { percent: number; minimum: number }, linkedActive: number): boolean {
  return count > threshold.minimum && count * 100 > linkedActive * threshold.percent;
}

/**
 * A run's additions held by the threshold: nobody is added; the list waits on the Import section
 * for Apply or Dismiss (replacing any list held before), and the audit log names who.
 */
export async function holdJoiners(
  db: Db,
  request: { organizationId: string; runId: string; people: ImportedPerson[]; linkedActive: number },
  now: number,
) {
  await runStatements(db, [
    ...holdJoinerStatements(db, request.organizationId, request.runId, request.people),
    insertAuditEvent(db, {
      organizationId: request.organizationId,
      actorUserId: null,
      action: "entra.joiners_held",
      details: {
        runId: request.runId,
        wouldAdd: request.people.length,
        linkedMembers: request.linkedActive,
        names: request.people.slice(0, 20).map((p) => p.displayName),
      },
      now,
    }),
  ]);
}

/** People applied per D1 round of reads: the held list is read 500 at a time. */
const HELD_CHUNK = 500;

/** Apply: the held people are added (each only if still not a member), then forgotten; audited. */
export async function applyHeldJoiners(db: Db, viewer: Viewer, now: number): Promise<number> {
  const connection = await findConnectionSummary(db, viewer.organizationId);
  if (connection?.status !== "connected" || !connection.tenantId) throw new AppError("conflict", "Connect Entra ID before adding people.");
  let applied = 0;
  for (;;) {
    const held = await listHeldJoiners(db, viewer.organizationId, "", HELD_CHUNK);
    if (held.length === 0) break;
    const byRun = new Map<string, ImportedPerson[]>();
    for (const h of held) byRun.set(h.runId, [...(byRun.get(h.runId) ?? []), h.person]);
    for (const [runId, people] of byRun)
      await writeJoiners(db, { organizationId: viewer.organizationId, tenantId: connection.tenantId, runId, people }, now);
    await runStatements(db, [
      forgetHeldJoiners(
        db,
        viewer.organizationId,
        held.map((h) => h.oid),
      ),
    ]);
    applied += held.length;
  }
  if (applied === 0) throw new AppError("conflict", "No new people are held.");
  await insertViewerAuditEvent(db, viewer, { action: "entra.joiners_applied", details: { people: applied } }, now).run();
  return applied;
}

/** Dismiss: nobody is added; the next run decides again (and may hold them again). */
export async function dismissHeldJoiners(db: Db, viewer: Viewer, now: number): Promise<void> {
  const { count } = await heldJoinersSummary(db, viewer.organizationId);
  if (count === 0) throw new AppError("conflict", "No new people are held.");
  await runStatements(db, [
    forgetHeldJoiners(db, viewer.organizationId),
    insertViewerAuditEvent(db, viewer, { action: "entra.joiners_dismissed", details: { people: count } }, now),
  ]);
}

/** Adds people read by readJoiners, 20 a D1 batch; returns how many memberships this made. */
export async function writeJoiners(
  db: Db,
  request: { organizationId: string; tenantId: string; runId: string; people: ImportedPerson[] },
  now: number,
): Promise<void> {
  for (let i = 0; i < request.people.length; i += PEOPLE_PER_BATCH) {
    const people = request.people.slice(i, i + PEOPLE_PER_BATCH);
    await runStatements(db, addJoinersStatements(request.organizationId, request.tenantId, request.runId, people, now));
  }
}
