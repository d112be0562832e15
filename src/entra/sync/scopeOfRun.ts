// The sync scope in the nightly run and Sync now (issue 20): with "Only members of these groups",
// linked members who left the scope's groups are deactivated ("left the sync scope") and those
// deactivated for it who are back are reactivated, with a leaver's rules: never the last Owner,
// never someone deactivated by hand, sessions ended, audited, the hold threshold, and Undo (they
// carry the run's id). The scope is read from Graph, each group's transitive members
// (`/groups/{id}/transitiveMembers/microsoft.graph.user`, 999 a page, the documented minimum:
// https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers), one Workflow step a
// page; a step returns only the page's object ids in the chosen domains and its next link, sealed
// (a step result is stored outside our database). Real-time reads skip it: they stay a delta read
// of a few requests, and the night catches a group change.
// With "Everyone in the chosen domains" a run checks nothing: a member's domain changes only when an
// Owner or Admin changes the scope, whose Apply reads the directory and deactivates who left.
// The judging step reads the linked members 5,000 a statement and changes at most what the hold
// threshold allows: more, and it changes nobody and says so in the audit log.
import type { WorkflowStepConfig } from "cloudflare:workers";
import { z } from "zod";
import { insertAuditEvent } from "../../db/audit.ts";
import type { Db } from "../../db/client.ts";
import { findConnectionOfTenant } from "../../db/connections.ts";
import { deactivateLeftScope, listScopeStandings, reactivateBackInScope } from "../../db/scopeMembers.ts";
import { runStatements } from "../../db/statements.ts";
import { findSyncSettings } from "../../db/syncRuns.ts";
import type { Config } from "../../lib/config.ts";
import type { MeteredSteps } from "../../lib/meteredSteps.ts";
import { createTokenVault } from "../../lib/vault.ts";
import { isProvisionableMember } from "../directory.ts";
import { GRAPH_BUDGETS } from "../graph.ts";
import { withOrganizationGraph, type TokenCache } from "../graphAccess.ts";
import { signInScope } from "../signInDirectory.ts";
import { vaultContext } from "../tokens.ts";
import { syncFailureOf } from "./failures.ts";
import { sql } from "drizzle-orm";

const MEMBERS_PER_READ = 5_000;
const CHANGES_PER_BATCH = 500;

const memberPage = z.object({
  value: z.array(
    z.object({
      id: z.string().min(1).max(64),
      userPrincipalName: z.string().max(1024).nullable().optional(),
      userType: z.string().max(32).nullable().optional(),
    }),
  ),
  "@odata.nextLink": z.string().optional(),
});

type ScopeRead = { mode: "groups"; domains: string[]; groupIds: string[] } | null;

export interface ScopeOfRun {
  organizationId: string;
  tenantId: string;
  runId: string;
}

export async function applyScopeOfRun(
  steps: MeteredSteps,
  stepConfig: WorkflowStepConfig,
  config: Config,
  run: ScopeOfRun,
  tokens: TokenCache,
): Promise<{ deactivated: number; reactivated: number; graphRequests: number; held: boolean }> {
  const scope = await steps.do("read the sync scope", stepConfig, async (db): Promise<ScopeRead> => {
    const [connection] = await findConnectionOfTenant(db, run.tenantId);
    if (!connection || connection.organizationId !== run.organizationId) return null;
    const s = signInScope(connection);
    return s.mode === "groups" ? { mode: "groups", domains: s.domains, groupIds: s.groupIds } : null;
  });
  const none = { deactivated: 0, reactivated: 0, graphRequests: 0, held: false };
  if (!scope) return none;

  const inScope = new Set<string>();
  let graphRequests = 0;
  {
    const vault = createTokenVault(config.TOKEN_ENCRYPTION_KEYS);
    // The page links are Graph links like a delta link: sealed under that field.
    const sealAs = vaultContext(run.organizationId, run.tenantId, "delta_link");
    for (const [g, groupId] of scope.groupIds.entries()) {
      let linkEnc: string | null = null;
      for (let page = 1; ; page++) {
        const read = await steps.do(`read scope group ${g + 1} page ${page}`, stepConfig, async (db) => {
          const counter = { requests: 0, bytes: 0 };
          try {
            let url = `/v1.0/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName,userType&$top=999`;
            if (linkEnc) {
              const opened = await vault.open(linkEnc, sealAs);
              if (!opened.ok) return { ok: false as const, requests: 0 };
              url = opened.value;
            }
            const reply = await withOrganizationGraph(db, config, run.organizationId, (graph) => graph.get(url, memberPage), {
              ...GRAPH_BUDGETS.background,
              lowPriority: true,
              counter,
              tokens,
            });
            const next = reply["@odata.nextLink"] ?? null;
            const oids = reply.value
              .filter((user) =>
                isProvisionableMember(
                  { id: user.id, userPrincipalName: user.userPrincipalName ?? null, userType: user.userType ?? null },
                  scope.domains,
                ),
              )
              .map((user) => user.id.toLowerCase());
            return { ok: true as const, oids, nextEnc: next ? await vault.seal(next, sealAs) : null, requests: counter.requests };
          } catch (error) {
            if (!syncFailureOf(error)) throw error;
            return { ok: false as const, requests: counter.requests };
          }
        });
        graphRequests += read.requests;
        // A failed read judges nobody: partial information deactivates nobody.
        if (!read.ok) return { ...none, graphRequests };
        for (const oid of read.oids) inScope.add(oid);
        if (!read.nextEnc) break;
        linkEnc = read.nextEnc;
      }
    }
  }

  const judged = await steps.do("apply the sync scope", stepConfig, (db) => judgeScope(db, run, inScope, Date.now()));
  return { ...judged, graphRequests };
}

async function judgeScope(db: Db, run: ScopeOfRun, inScope: Set<string>, now: number) {
  const within = (member: { oid: string }) => inScope.has(member.oid.toLowerCase());
  const settings = await findSyncSettings(db, run.organizationId);
  const threshold = { percent: settings?.holdThresholdPercent ?? 10, minimum: settings?.holdThresholdMinimum ?? 5 };
  const linkedActive = settings?.linkedActiveMembers ?? 0;
  const overThreshold = (leaving: number) => leaving > threshold.minimum && leaving * 100 > linkedActive * threshold.percent;
  // Ids are kept only while the run may still apply them: past the threshold it only counts, so a
  // scope that leaves out most of a 1M-member organization never holds their ids in memory.
  const leavers: string[] = [];
  const owners: string[] = [];
  const returners: string[] = [];
  let leaving = 0;
  for (let after = ""; ; ) {
    const page = await listScopeStandings(db, run.organizationId, run.tenantId, after, MEMBERS_PER_READ);
    for (const member of page) {
      const inside = within(member);
      if (member.status === "active" && !inside) {
        leaving++;
        if (!overThreshold(leaving)) (member.role === "owner" ? owners : leavers).push(member.user_id);
      } else if (member.status === "deactivated" && member.reason === "left_scope" && inside && !overThreshold(leaving)) {
        returners.push(member.user_id);
      }
    }
    if (page.length < MEMBERS_PER_READ) break;
    after = page.at(-1)!.user_id;
  }
  if (overThreshold(leaving)) {
    await insertAuditEvent(db, {
      organizationId: run.organizationId,
      actorUserId: null,
      action: "entra.scope_leavers_held",
      details: { runId: run.runId, wouldDeactivate: leaving },
      now,
    }).run();
    return { deactivated: 0, reactivated: 0, held: true };
  }
  const target = { organizationId: run.organizationId, actorUserId: null, runId: run.runId, now };
  for (let i = 0; i < leavers.length; i += CHANGES_PER_BATCH) {
    await runStatements(db, [...deactivateLeftScope(db, { ...target, userIds: leavers.slice(i, i + CHANGES_PER_BATCH) })]);
  }
  // Owners one statement each: the last active one always stays.
  if (owners.length > 0)
    await runStatements(
      db,
      owners.flatMap((owner) => [...deactivateLeftScope(db, { ...target, userIds: [owner] })]),
    );
  for (let i = 0; i < returners.length; i += CHANGES_PER_BATCH) {
    await runStatements(db, [...reactivateBackInScope(db, { ...target, userIds: returners.slice(i, i + CHANGES_PER_BATCH) })]);
  }
  // The run's counts, and who it changed: the run history and Undo see them.
  const [counted] = await db.all<{ deactivated: number; reactivated: number }>(sql`
    update sync_runs set
      deactivated = (select count(*) from memberships where organization_id = ${run.organizationId} and deactivated_by_run = ${run.runId}),
      reactivated = reactivated + ${returners.length}
    where id = ${run.runId} returning deactivated, reactivated`);
  return { deactivated: counted?.deactivated ?? 0, reactivated: returners.length, held: false };
}
