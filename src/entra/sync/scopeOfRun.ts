// The scope's groups as a run reads them (issue 20): with "Only members of these groups", the
// nightly run and Sync now read each group's transitive members
// (`/groups/{id}/transitiveMembers/microsoft.graph.user`, 999 a page, the documented minimum:
// https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers), one Workflow step a
// page; a step returns only the page's enabled members in the chosen domains, as object ids, and its
// next link, sealed (a step result is stored outside our database). What the run does with them is
// runScope.ts's: the scope's leavers and returners join the run's own change list. Real-time reads
// skip this read (runScope.ts says why). A failed read returns null: the run judges nobody by the
// groups (partial information deactivates nobody).
import type { WorkflowStepConfig } from "cloudflare:workers";
import { z } from "zod";
import type { Config } from "../../lib/config.ts";
import type { MeteredSteps } from "../../lib/meteredSteps.ts";
import { createTokenVault } from "../../lib/vault.ts";
import { isProvisionableMember } from "../directory.ts";
import { GRAPH_BUDGETS } from "../graph.ts";
import { withOrganizationGraph, type TokenCache } from "../graphAccess.ts";
import { vaultContext } from "../tokens.ts";
import { syncFailureOf } from "./failures.ts";
import type { ScopeSettings } from "./runScope.ts";

const memberPage = z.object({
  value: z.array(
    z.object({
      id: z.string().min(1).max(64),
      userPrincipalName: z.string().max(1024).nullable().optional(),
      userType: z.string().max(32).nullable().optional(),
      accountEnabled: z.boolean().nullable().optional(),
    }),
  ),
  "@odata.nextLink": z.string().optional(),
});

export interface ScopeOfRun {
  organizationId: string;
  tenantId: string;
}

/** The enabled members of the scope's groups in its domains (lower-case object ids), or null when a read failed. */
export async function readScopeGroups(
  steps: MeteredSteps,
  stepConfig: WorkflowStepConfig,
  config: Config,
  run: ScopeOfRun,
  scope: ScopeSettings,
  tokens: TokenCache,
): Promise<{ members: Set<string> | null; graphRequests: number }> {
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
            let url = `/v1.0/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName,userType,accountEnabled&$top=999`;
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
              .filter(
                (user) =>
                  user.accountEnabled !== false &&
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
        if (!read.ok) return { members: null, graphRequests };
        for (const oid of read.oids) inScope.add(oid);
        if (!read.nextEnc) break;
        linkEnc = read.nextEnc;
      }
    }
  }

  return { members: inScope, graphRequests };
}
