// Roles follow the groups (issue 19): in every directory run (nightly, Sync now, real-time), with
// Group → Role mapping on, the members whose Entra groups may have changed get their mapped role
// decided again, by the rule sign-in uses (resolveRoleFromGroups + applyGroupRole: highest mapped
// role wins, nested groups count, the default role otherwise; Owners stay Owners).
//
// Who "may have changed": the group delta (https://learn.microsoft.com/en-us/graph/api/group-delta)
// from the link the last run stored. A later round lists only the groups whose members changed, with
// only those members in `members@delta` (added, or removed with `@removed`), so a run reads Graph for
// the changes, not for the tenant: one delta page per 999 changed groups, then each named user's
// transitive groups, 20 users per JSON $batch (https://learn.microsoft.com/en-us/graph/json-batching).
// A nested group added to or removed from a group changes everyone inside it: its transitive user
// members are read (https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers).
// The first run starts tracking from "now" ($deltatoken=latest): every member's role was decided at
// sign-in or import, so only later changes matter. docs/scale.md has the cost.
import { z } from "zod";
import type { Db } from "../../db/client.ts";
import {
  findActiveLinkedMembers,
  findGroupDeltaLink,
  insertRunRoleChanges,
  saveGroupDeltaLink,
  type RoleCandidate,
  type RoleSettings,
  type RunRoleChange,
} from "../../db/groupTracking.ts";
import { insertAuditEvent } from "../../db/audit.ts";
import { roleHoldOf, roleLoweringsBefore } from "./roleHoldAcrossReads.ts";
import { listMappings } from "../../db/mappings.ts";
import { runStatements, type Write } from "../../db/statements.ts";
import type { MappableRole } from "../../db/schema.ts";
import type { SyncTrigger } from "../../db/syncRuns.ts";
import type { Config } from "../../lib/config.ts";
import { createTokenVault } from "../../lib/vault.ts";
import { roleRank } from "../../auth/access.ts";
import { resolveRoleFromGroups, type DirectoryGroup, type RoleDecision } from "../../people/groupRoles.ts";
import { readTransitiveGroups } from "../directory.ts";
import { batchPartFailure, batchReplySchema, GRAPH_BUDGETS, GraphError, type GraphClient } from "../graph.ts";
import { withOrganizationGraph, type TokenCache } from "../graphAccess.ts";
import { applyGroupRole } from "../signInDirectory.ts";
import { vaultContext } from "../tokens.ts";
import { syncFailureOf, type SyncFailure } from "./failures.ts";

const GROUP_DELTA_FROM_NOW = "/v1.0/groups/delta?$select=id,members&$deltatoken=latest";
/** Users whose groups are read in one JSON $batch: Graph's limit per batch. */
const BATCH_SIZE = 20;
const PAGE_SIZE_HEADER = { Prefer: "odata.maxpagesize=999" };

const memberEntry = z.object({ "@odata.type": z.string().max(100).optional(), id: z.string().min(1).max(64) });
const groupEntry = z.object({ id: z.string().min(1).max(64), "members@delta": z.array(memberEntry).max(100_000).optional() });
const idEntry = z.object({ id: z.string().min(1).max(64) });
const groupPage = z.object({
  value: z.array(z.object({ id: z.string(), displayName: z.string().nullish() })),
  "@odata.nextLink": z.string().optional(),
});

/** A candidate and the role their groups decide now: what an apply step writes. */
export interface DecidedRole {
  member: RoleCandidate;
  decision: RoleDecision;
}

export type RoleStepResult =
  | {
      ok: true;
      changed: number;
      held: number;
      lowered: number;
      considered: number;
      graphRequests: number;
      graphBytes: number;
      /** Decided but not yet written: the apply steps write them, ROLES_PER_STEP at a time. */
      toApply: DecidedRole[];
      /** The group delta link (sealed) the last apply step stores; null when nothing is left to apply. */
      deltaLinkEnc: string | null;
    }
  | { ok: false; reason: SyncFailure; graphRequests: number; graphBytes: number };

/**
 * Members whose decided role one apply step writes. Each takes at most four statements (the
 * decision, and for a change the role, its audit row and member.role_changed), so a step stays at
 * about 800 D1 queries, under Workers' 1,000 per invocation, whatever the run's size: 1,000 changes
 * in one step were about 4,000.
 */
export const ROLES_PER_STEP = 200;

/**
 * Starts tracking group changes from now (Group → Role mapping turned on): the link for "now" is
 * stored, so the first notified or nightly run reads the changes made after this moment. Best
 * effort: without it, the first run starts tracking instead.
 */
export async function startTrackingGroups(db: Db, config: Config, organizationId: string, now: number): Promise<void> {
  try {
    await withOrganizationGraph(
      db,
      config,
      organizationId,
      async (graph, tenantId) => {
        const page = await graph.get(GROUP_DELTA_FROM_NOW, z.object({ "@odata.deltaLink": z.string() }));
        graph.resolve(page["@odata.deltaLink"]);
        const sealed = await createTokenVault(config.TOKEN_ENCRYPTION_KEYS).seal(
          page["@odata.deltaLink"],
          vaultContext(organizationId, tenantId, "delta_link"),
        );
        await saveGroupDeltaLink(db, { organizationId, tenantId, deltaLinkEnc: sealed, now }).run();
      },
      GRAPH_BUDGETS.interactive,
    );
  } catch (error) {
    if (!syncFailureOf(error)) throw error;
  }
}

/** Who the group delta names: users directly, and the nested groups whose members all moved. */
export function namedInGroupDelta(groups: z.infer<typeof groupEntry>[]): { users: Set<string>; nestedGroups: Set<string> } {
  const users = new Set<string>();
  const nestedGroups = new Set<string>();
  for (const group of groups) {
    for (const member of group["members@delta"] ?? []) {
      const type = (member["@odata.type"] ?? "#microsoft.graph.user").toLowerCase();
      if (type === "#microsoft.graph.user") users.add(member.id.toLowerCase());
      else if (type === "#microsoft.graph.group") nestedGroups.add(member.id.toLowerCase());
    }
  }
  return { users, nestedGroups };
}

/** Each candidate's transitive groups: 20 users per $batch; a part that fails is read on its own. */
async function readGroupsOf(graph: GraphClient, oids: string[]): Promise<Map<string, DirectoryGroup[]>> {
  const groups = new Map<string, DirectoryGroup[]>();
  for (let i = 0; i < oids.length; i += BATCH_SIZE) {
    const slice = oids.slice(i, i + BATCH_SIZE);
    const reply = await graph.post(
      "/v1.0/$batch",
      {
        requests: slice.map((oid, k) => ({
          id: String(k),
          method: "GET",
          url: `/users/${encodeURIComponent(oid)}/transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$top=999`,
        })),
      },
      batchReplySchema,
    );
    for (const [k, oid] of slice.entries()) {
      const part = reply.responses.find((r) => r.id === String(k));
      const parsed = part?.status === 200 ? groupPage.safeParse(part.body) : null;
      if (parsed?.success && !parsed.data["@odata.nextLink"]) {
        groups.set(
          oid,
          parsed.data.value.map((g) => ({ id: g.id, displayName: g.displayName ?? null })),
        );
        continue;
      }
      if (part && part.status === 401) throw batchPartFailure(part).error;
      if (part && part.status === 404) continue; // deleted in Entra: the users read deactivates them
      // Throttled, failed, or more than 999 groups: read this one on its own (retries and all pages).
      groups.set(oid, await readTransitiveGroups(graph, oid));
    }
  }
  return groups;
}

/**
 * Reads the group changes since the stored link and applies the mapped roles they change. The new
 * link is stored in the batch that applies the roles, so a run that fails before it reads the same
 * changes again next time. With mapping off nothing is read (the link is kept for when it is back on).
 */
export async function followGroupChanges(
  db: Db,
  config: Config,
  run: { organizationId: string; tenantId: string; runId: string; trigger?: SyncTrigger },
  settings: RoleSettings,
  tokens: TokenCache,
  now: number,
): Promise<RoleStepResult> {
  const counter = { requests: 0, bytes: 0 };
  const figures = () => ({ graphRequests: counter.requests, graphBytes: counter.bytes });
  const nothing = { toApply: [], deltaLinkEnc: null };
  if (!settings.mapping) return { ok: true, changed: 0, held: 0, lowered: 0, considered: 0, ...nothing, ...figures() };
  const { organizationId, tenantId } = run;
  const vault = createTokenVault(config.TOKEN_ENCRYPTION_KEYS);
  // Sealed as a delta link of the organization's tenant, like the users one (both are Graph URLs).
  const sealContext = vaultContext(organizationId, tenantId, "delta_link");
  try {
    const stored = await findGroupDeltaLink(db, organizationId);
    const opened = stored && stored.tenantId === tenantId ? await vault.open(stored.deltaLinkEnc, sealContext) : null;
    const work = await withOrganizationGraph(
      db,
      config,
      organizationId,
      async (graph) => {
        const readRound = async (start: string) => {
          const pages: z.infer<typeof groupEntry>[] = [];
          let deltaLink: string | null = null;
          for await (const page of graph.pages(start, groupEntry, PAGE_SIZE_HEADER)) {
            pages.push(...page.values);
            deltaLink = page.deltaLink ?? deltaLink;
          }
          if (deltaLink) graph.resolve(deltaLink);
          return { pages, deltaLink };
        };
        // No link (or one we cannot open): start tracking from now; nothing changed "since". A link
        // Graph no longer knows (410) starts again from now too: the nightly run's members are
        // decided at their next sign-in, as before this step existed.
        let round: Awaited<ReturnType<typeof readRound>>;
        try {
          round = await readRound(opened?.ok ? opened.value : GROUP_DELTA_FROM_NOW);
        } catch (error) {
          if (!(error instanceof GraphError) || error.kind !== "sync_state_gone") throw error;
          round = await readRound(GROUP_DELTA_FROM_NOW);
        }
        const { pages, deltaLink } = round;
        const named = namedInGroupDelta(pages);
        for (const nested of named.nestedGroups) {
          const path = `/v1.0/groups/${encodeURIComponent(nested)}/transitiveMembers/microsoft.graph.user?$select=id&$top=999`;
          for await (const page of graph.pages(path, idEntry)) for (const user of page.values) named.users.add(user.id.toLowerCase());
        }
        const candidates = (await findActiveLinkedMembers(db, organizationId, tenantId, [...named.users])).filter(
          (m) => m.role !== "owner",
        );
        const groupsOf = await readGroupsOf(
          graph,
          candidates.map((c) => c.oid),
        );
        return { deltaLink, candidates, groupsOf };
      },
      { ...GRAPH_BUDGETS.background, lowPriority: true, counter, tokens },
    );
    const mappings = await listMappings(db, organizationId);
    const writes: Write[] = [];
    const decided = work.candidates.flatMap((member) => {
      const groups = work.groupsOf.get(member.oid);
      return groups ? [{ member, decision: resolveRoleFromGroups(groups, mappings, settings.defaultRole) }] : [];
    });
    const changes = roleChangesAmong(decided);
    const lowered = changes.filter((c) => roleRank(c.toRole) < roleRank(c.fromRole)).length;
    // Mass lowering is held like a mass deactivation, by the same threshold: a mapping mistake or a
    // group emptied by a script must not strip most people of their roles in one run, nor in many
    // small real-time reads (roleHoldAcrossReads.ts).
    const unchanged = decided.filter(({ member, decision }) => decision.role === member.role).map(({ member }) => member.userId);
    const hold = roleHoldOf(
      await roleLoweringsBefore(db, organizationId, run.trigger, now),
      run,
      { lowered, changes, unchanged },
      settings,
    );
    const held = hold.held;
    writes.push(...hold.writes);
    const deltaLinkEnc = work.deltaLink ? await vault.seal(work.deltaLink, sealContext) : null;
    const saveLink = (link: string) => saveGroupDeltaLink(db, { organizationId, tenantId, deltaLinkEnc: link, now });
    const counts = { lowered, considered: work.candidates.length, ...figures() };
    if (held) {
      writes.push(
        insertRunRoleChanges({ runId: hold.listRunId, organizationId, state: "held", now }, changes),
        insertAuditEvent(db, {
          organizationId,
          actorUserId: null,
          action: "sync.roles_held",
          details: { runId: hold.listRunId, lowered, changes: changes.length },
          now,
        }),
      );
      if (deltaLinkEnc) writes.push(saveLink(deltaLinkEnc));
      await runStatements(db, writes);
      return { ok: true, changed: 0, held: changes.length, ...counts, ...nothing };
    }
    if (hold.writes.length > 0) await runStatements(db, hold.writes);
    if (decided.length === 0) {
      if (deltaLinkEnc) await runStatements(db, [saveLink(deltaLinkEnc)]);
      return { ok: true, changed: 0, held: 0, ...counts, ...nothing };
    }
    // Applied in bounded steps (applyGroupRoles); the link is stored by the last, so a run that
    // stops in between reads the same changes again and decides them again (the same roles).
    return { ok: true, changed: changes.length, held: 0, ...counts, toApply: decided, deltaLinkEnc };
  } catch (error) {
    const reason = syncFailureOf(error);
    if (!reason) throw error;
    return { ok: false, reason: reason === "sync_state_gone" ? "sync_state_lost" : reason, ...figures() };
  }
}

/** The decided roles that differ from the member's role now: what Undo restores. */
function roleChangesAmong(decided: DecidedRole[]): RunRoleChange[] {
  return decided
    .filter(({ member, decision }) => decision.role !== member.role)
    .map(({ member, decision }) => ({
      userId: member.userId,
      fromRole: member.role as MappableRole,
      toRole: decision.role,
      decidingGroup: decision.decidingGroup,
      rule: decision.rule,
    }));
}

/**
 * One apply step: the decided roles of up to ROLES_PER_STEP members, with the changes among them
 * listed for Undo (run_role_changes), in one write batch; the last step also stores the group delta
 * link. A step retried after its batch committed changes no role twice (the role update is guarded
 * by the role it changes from, run_role_changes is keyed by run and member).
 */
export async function applyGroupRoles(
  db: Db,
  run: { organizationId: string; tenantId: string; runId: string },
  decided: DecidedRole[],
  deltaLinkEnc: string | null,
  now: number,
): Promise<void> {
  const { organizationId, tenantId, runId } = run;
  const writes: Write[] = decided.flatMap(({ member, decision }) =>
    applyGroupRole(db, { organizationId, userId: member.userId, role: member.role }, { ok: true, decision, graphReadAt: now }, now, runId),
  );
  const changes = roleChangesAmong(decided);
  // What Undo restores: exactly these.
  if (changes.length > 0) writes.push(insertRunRoleChanges({ runId, organizationId, state: "applied", now }, changes));
  if (deltaLinkEnc) writes.push(saveGroupDeltaLink(db, { organizationId, tenantId, deltaLinkEnc, now }));
  await runStatements(db, writes);
}
