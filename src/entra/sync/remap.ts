// Mapping edits apply to everyone at the next run (issue 19): after an edit of the Group → Role
// mapping (a group added, removed or given another role, the default role changed), the next
// nightly run or Sync now decides every active linked member's role again, once, by the rule
// sign-in uses (resolveRoleFromGroups + applyGroupRole: highest mapped role wins, nested groups
// count, the default role otherwise; Owners are never read nor changed).
//
// It reads each mapped group's transitive user members, not each member's groups
// (https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers: nested members count,
// `/microsoft.graph.user` casts to users, $top up to 999 a page), so its Graph cost is
// Σ ceil(group size / 999) requests over the mapped groups, however many members the tenant has.
// Bounded in memory and in D1 queries: each page's matches go to D1 (remap_matches) as it is read,
// and each step below reads or writes a bounded slice, so no step holds the tenant nor sends more
// than MAX_QUERIES_PER_STEP queries. The mapping page's preview of the next run runs the very same
// functions in the import Workflow (src/entra/import/nextRunPreview.ts), with its import's id as the
// run id, and stops before anything is written but the scratch (mode "preview").
import { z } from "zod";
import { roleRank } from "../../auth/access.ts";
import { insertAuditEvent } from "../../db/audit.ts";
import type { Db } from "../../db/client.ts";
import { findRoleSettings, insertRunRoleChanges, type RoleSettings, type RunRoleChange } from "../../db/groupTracking.ts";
import { listMappings } from "../../db/mappings.ts";
import {
  deleteRemapMatches,
  findPendingMappingEdit,
  markMappingApplied,
  readRemapMembers,
  recordGroupMatches,
  type RemapMember,
} from "../../db/mappingEdits.ts";
import type { MappableRole } from "../../db/schema.ts";
import { runStatements, type Write } from "../../db/statements.ts";
import type { Config } from "../../lib/config.ts";
import type { GroupMapping, RoleDecision } from "../../people/groupRoles.ts";
import { GRAPH_BUDGETS, GraphError, type GraphClient } from "../graph.ts";
import { withOrganizationGraph, type TokenCache } from "../graphAccess.ts";
import { applyGroupRole } from "../signInDirectory.ts";
import { refreshRoleDecisions, type RefreshedDecision } from "../../db/whyThisRole.ts";
import { decisionOf, staleWhy } from "./remapDecision.ts";
import { syncFailureOf, type SyncFailure } from "./failures.ts";

/** Graph pages (≤ 999 members each, one D1 statement each) read in one step. */
const PAGES_PER_STEP = 20;
/** Members read by one D1 query while deciding. */
const MEMBERS_PER_READ = 1000;
/** D1 queries one step may send: under the 1,000 a Workflow step is allowed here (the brief's bound). */
const MAX_QUERIES_PER_STEP = 800;
/** Changed members applied in one step: applyGroupRole writes at most 5 statements for each. */
const APPLIED_PER_STEP = 120;
/** Changes a preview lists; beyond it, it counts them. */
export const PREVIEW_LIST_CAP = 200;

const idEntry = z.object({ id: z.string().min(1).max(64) });
const memberPage = z.object({ value: z.array(idEntry), "@odata.nextLink": z.string().optional() });

export interface RemapRun {
  runId: string;
  organizationId: string;
  tenantId: string;
}

/** What a re-deciding run works from, read once at its start (a step result: replays see the same). */
export interface RemapPlan {
  version: number;
  mappings: GroupMapping[];
  defaultRole: MappableRole;
  threshold: RoleSettings["threshold"];
  linkedActiveMembers: number;
}

/** The plan when the mapping was edited since the last run that applied it and mapping is on; else null. */
export async function planRemap(db: Db, organizationId: string, options: { evenIfUnchanged?: boolean } = {}): Promise<RemapPlan | null> {
  const settings = await findRoleSettings(db, organizationId);
  if (!settings.mapping) return null;
  const pending = await findPendingMappingEdit(db, organizationId);
  if (!pending && !options.evenIfUnchanged) return null;
  return {
    version: pending?.version ?? 0,
    mappings: await listMappings(db, organizationId),
    defaultRole: settings.defaultRole,
    threshold: settings.threshold,
    linkedActiveMembers: settings.linkedActiveMembers,
  };
}

/** Where reading the mapped groups stands: the group (index in the plan) and the page to read next. */
export interface ReadCursor {
  group: number;
  link: string | null;
}

export type ReadResult =
  | { ok: true; next: ReadCursor | null; pages: number; graphRequests: number; graphBytes: number }
  | { ok: false; reason: SyncFailure; graphRequests: number; graphBytes: number };

const firstPage = (groupId: string) =>
  `/v1.0/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user?$select=id&$top=999`;

/** Reads up to PAGES_PER_STEP pages of the mapped groups' transitive members and records the matches. */
export async function readMappedGroups(
  db: Db,
  config: Config,
  run: RemapRun,
  plan: RemapPlan,
  cursor: ReadCursor,
  tokens: TokenCache | undefined,
  budget: typeof GRAPH_BUDGETS.background | typeof GRAPH_BUDGETS.interactive = GRAPH_BUDGETS.background,
): Promise<ReadResult> {
  const counter = { requests: 0, bytes: 0 };
  const figures = () => ({ graphRequests: counter.requests, graphBytes: counter.bytes });
  try {
    const { next, pages } = await withOrganizationGraph(
      db,
      config,
      run.organizationId,
      (graph) => readPages(db, graph, run, plan, cursor),
      {
        ...budget,
        lowPriority: true,
        counter,
        ...(tokens ? { tokens } : {}),
      },
    );
    return { ok: true, next, pages, ...figures() };
  } catch (error) {
    const reason = syncFailureOf(error);
    if (!reason) throw error;
    return { ok: false, reason: reason === "sync_state_gone" ? "sync_state_lost" : reason, ...figures() };
  }
}

async function readPages(
  db: Db,
  graph: GraphClient,
  run: RemapRun,
  plan: RemapPlan,
  from: ReadCursor,
): Promise<{ next: ReadCursor | null; pages: number }> {
  let cursor: ReadCursor | null = from;
  let pages = 0;
  for (; cursor && pages < PAGES_PER_STEP; pages++) {
    const mapping: GroupMapping | undefined = plan.mappings[cursor.group];
    if (!mapping) return { next: null, pages };
    let page: z.infer<typeof memberPage> | null;
    try {
      page = await graph.get(cursor.link ?? firstPage(mapping.groupId), memberPage);
    } catch (error) {
      // A mapped group deleted in Entra: nobody is in it any more (the other groups decide).
      if (!(error instanceof GraphError) || error.kind !== "not_found") throw error;
      page = null;
    }
    if (page && page.value.length > 0) {
      const oids = page.value.map((u) => u.id.toLowerCase());
      await runStatements(db, [recordGroupMatches({ ...run, groupId: mapping.groupId }, oids)]);
    }
    const link: string | undefined = page?.["@odata.nextLink"];
    if (link) graph.resolve(link); // Graph's own origin only, before it is checkpointed.
    cursor = link
      ? { group: cursor.group, link }
      : cursor.group + 1 < plan.mappings.length
        ? { group: cursor.group + 1, link: null }
        : null;
  }
  return { next: cursor, pages };
}

/** The member's decision, and their role change (null when their role stays). */
export function decideMember(member: RemapMember, plan: RemapPlan): { change: RunRoleChange | null; decision: RoleDecision } {
  const decision = decisionOf(member, plan);
  if (member.role === "owner" || decision.role === member.role) return { change: null, decision };
  const change = {
    userId: member.user_id,
    fromRole: member.role,
    toRole: decision.role,
    decidingGroup: decision.decidingGroup,
    rule: decision.rule,
  };
  return { change, decision };
}

export type DecideMode = "count" | "hold" | "apply" | "preview";

export interface DecideResult {
  /** The last member decided; null: every member was. */
  after: string | null;
  /** Members read (decided or not). */
  read: number;
  changes: number;
  lowered: number;
  /** Kept roles whose "Why this role" is out of date (counted by "count", written by "apply"). */
  stale: number;
  /** Mode "preview": the changes themselves, up to `listCap`. */
  listed: RunRoleChange[];
}

export interface DecideOptions {
  /** Mode "preview": how many changes to return in `listed`. */
  listCap?: number;
  /** Reads of MEMBERS_PER_READ members this slice may take (else as many as the query budget allows). */
  maxReads?: number;
}

/**
 * Decides the next slice of members after `afterOid`. "count" and "preview" write nothing; "hold"
 * lists the changes as held (Apply/Dismiss); "apply" applies them with applyGroupRole (role, "Why
 * this role", audit, member.role_changed) and lists them as applied (Undo).
 */
export async function decideMembers(
  db: Db,
  run: RemapRun,
  plan: RemapPlan,
  afterOid: string,
  mode: DecideMode,
  now: number,
  options: DecideOptions = {},
): Promise<DecideResult> {
  const { listCap = 0, maxReads = Number.POSITIVE_INFINITY } = options;
  let after = afterOid;
  let changes = 0;
  let lowered = 0;
  let staleCount = 0;
  let queries = 0;
  let reads = 0;
  let read = 0;
  const listed: RunRoleChange[] = [];
  for (;;) {
    if (queries + 2 > MAX_QUERIES_PER_STEP || reads >= maxReads || (mode === "apply" && changes >= APPLIED_PER_STEP))
      return { after, read, changes, lowered, stale: staleCount, listed };
    const members = await readRemapMembers(db, { ...run, afterOid: after, limit: MEMBERS_PER_READ });
    queries++;
    reads++;
    read += members.length;
    const slice: RunRoleChange[] = [];
    const decided = new Map<string, { member: RemapMember; decision: RoleDecision }>();
    // Kept roles whose "Why this role" no longer holds (remapDecision.ts): refreshed when applying.
    const stale: RefreshedDecision[] = [];
    for (const member of members) {
      const { change, decision } = decideMember(member, plan);
      // An applied step stops at its write budget: the cursor is the last member it decided.
      if (change && mode === "apply" && changes >= APPLIED_PER_STEP) break;
      after = member.oid;
      if (!change) {
        if (mode === "apply" || mode === "count") stale.push(...staleWhy(member, decision));
        continue;
      }
      changes++;
      if (roleRank(change.toRole) < roleRank(change.fromRole)) lowered++;
      slice.push(change);
      decided.set(change.userId, { member, decision });
      if (mode === "preview" && listed.length < listCap) listed.push(change);
    }
    staleCount += stale.length;
    if ((slice.length > 0 || stale.length > 0) && (mode === "hold" || mode === "apply")) {
      const writes: Write[] = [];
      if (mode === "apply") {
        for (const change of slice) {
          const { member, decision } = decided.get(change.userId)!;
          writes.push(
            ...applyGroupRole(
              db,
              { organizationId: run.organizationId, userId: member.user_id, role: member.role },
              { ok: true, decision, graphReadAt: now },
              now,
              run.runId,
            ),
          );
        }
      }
      if (slice.length > 0) writes.push(insertRunRoleChanges({ ...run, state: mode === "hold" ? "held" : "applied", now }, slice));
      if (stale.length > 0 && mode === "apply") writes.push(refreshRoleDecisions(run.organizationId, stale, now));
      await runStatements(db, writes);
      queries += writes.length;
    }
    if (members.length < MEMBERS_PER_READ && after === (members.at(-1)?.oid ?? after))
      return { after: null, read, changes, lowered, stale: staleCount, listed };
  }
}

/** Ends the role step: the version is applied (held or not), the held list audited, the scratch gone. */
export async function concludeRemap(
  db: Db,
  run: RemapRun,
  plan: RemapPlan,
  outcome: { held: boolean; changes: number; lowered: number },
  now: number,
): Promise<void> {
  const writes: Write[] = [markMappingApplied(run.organizationId, plan.version)];
  if (outcome.held) {
    writes.push(
      insertAuditEvent(db, {
        organizationId: run.organizationId,
        actorUserId: null,
        action: "sync.roles_held",
        details: { runId: run.runId, lowered: outcome.lowered, changes: outcome.changes, cause: "mapping_edit" },
        now,
      }),
    );
  }
  await runStatements(db, writes);
}

/** Deletes a slice of the run's scratch; true when none is left. */
export async function clearRemapScratch(db: Db, runId: string): Promise<boolean> {
  for (let i = 0; i < 20; i++) if ((await deleteRemapMatches(db, runId, 10_000)) === 0) return true;
  return false;
}
