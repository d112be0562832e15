// One Workflow step of a run: read one Graph page. A page of a full listing is stored as who was
// seen (sorted hashes in D1, seenSet.ts) and the step returns only its links and counts: the
// conclude step judges every member at once. A delta page is a list of changes: the step returns,
// for each of the organization's members on it, what the directory says and how the member stands
// now. Members are not changed here: a run decides only once it has read everything (partial
// information deactivates nobody).
import type { Db } from "../../db/client.ts";
import { findLinkedMembersAmong, type MemberStanding } from "../../db/syncMembers.ts";
import { saveSeenPage } from "../../db/syncSeen.ts";
import { findUnlinkedAmong } from "../../db/joiners.ts";
import type { Config } from "../../lib/config.ts";
import { createTokenVault } from "../../lib/vault.ts";
import { GRAPH_BUDGETS } from "../graph.ts";
import { withOrganizationGraph, type TokenCache } from "../graphAccess.ts";
import { vaultContext } from "../tokens.ts";
import { DELTA_FROM_NOW_PATH, FULL_LISTING_PATH, readDirectoryPage, type AccountState } from "./directoryPage.ts";
import { syncFailureOf, type SyncFailure } from "./failures.ts";
import { encodeSeenPage } from "./seenSet.ts";
import { keepProfiles } from "./profiles.ts";
import { outsideScopeAmong, type ScopeSettings, scopeOfName } from "./runScope.ts";

/**
 * [userId, what the directory says, how the member stands, Entra object id, whether the entry puts
 * them in the sync scope (runScope.ts scopeOfName; null: it does not say)]: small enough for a step result.
 */
export type Observation = [string, AccountState, MemberStanding, string, (boolean | null)?];

export type PageResult =
  | {
      ok: true;
      usersRead: number;
      /** A delta page's linked members; always empty for a full listing (its pages are in D1). */
      observations: Observation[];
      /** With collectJoiners: the page's enabled users who are not members (candidates to add). */
      joiners?: string[];
      /** A full listing's page, with `scope`: its linked members outside the chosen domains (runScope.ts). */
      outsideScope?: string[];
      /** Sealed with the token vault: a step result is stored outside our database. */
      nextLinkEnc: string | null;
      deltaLinkEnc: string | null;
      graphRequests: number;
      graphBytes: number;
    }
  | { ok: false; reason: SyncFailure | "sync_state_gone"; graphRequests: number; graphBytes: number };

export interface PageRequest {
  organizationId: string;
  tenantId: string;
  /** Sealed link to read; null starts a full listing. */
  linkEnc: string | null;
  /** Read the delta link for "now" (before a full listing) instead of a page of users. */
  deltaFromNow?: boolean;
  /** A full listing's page: where to store who it saw. Absent for a delta round. */
  seen?: { runId: string; attempt: number; page: number };
  /** The held run this run waits behind: a delta page marks the members on its list "held". */
  heldRunId?: string | null;
  /** The run: profiles it keeps are its changes (profiles.ts). */
  runId?: string;
  /** Add new people automatically is on: name the page's enabled users who are not members yet (issue 20). */
  collectJoiners?: boolean;
  /** The sync scope: say who on the page is outside its domains (issue 20, runScope.ts). */
  scope?: ScopeSettings | null;
}

export async function observePage(db: Db, config: Config, request: PageRequest, tokens: TokenCache): Promise<PageResult> {
  const counter = { requests: 0, bytes: 0 };
  const vault = createTokenVault(config.TOKEN_ENCRYPTION_KEYS);
  const sealContext = vaultContext(request.organizationId, request.tenantId, "delta_link");
  try {
    let url = request.deltaFromNow ? DELTA_FROM_NOW_PATH : FULL_LISTING_PATH;
    if (request.linkEnc && !request.deltaFromNow) {
      const opened = await vault.open(request.linkEnc, sealContext);
      if (!opened.ok) return { ok: false, reason: "sync_state_gone", graphRequests: 0, graphBytes: 0 };
      url = opened.value;
    }

    const page = await withOrganizationGraph(
      db,
      config,
      request.organizationId,
      (graph, tenantId) => {
        if (tenantId !== request.tenantId) throw new TenantChanged();
        return readDirectoryPage(graph, url);
      },
      { ...GRAPH_BUDGETS.background, lowPriority: true, counter, tokens },
    );

    // Profiles stay current (issue 19): the linked members this page lists, kept now (profiles.ts).
    if (request.runId && !request.deltaFromNow) {
      await keepProfiles(
        db,
        { organizationId: request.organizationId, tenantId: request.tenantId, runId: request.runId },
        page.users,
        Date.now(),
      );
    }
    const links = {
      nextLinkEnc: page.nextLink ? await vault.seal(page.nextLink, sealContext) : null,
      deltaLinkEnc: page.deltaLink ? await vault.seal(page.deltaLink, sealContext) : null,
      graphRequests: counter.requests,
      graphBytes: counter.bytes,
    };
    if (request.seen) {
      // A full listing names each user once, with accountEnabled (never "deleted").
      const listed = page.users.map(({ oid, state }) => ({
        oid,
        state: state === "enabled" ? ("enabled" as const) : state === "unchanged" ? ("unknown" as const) : ("disabled" as const),
      }));
      await saveSeenPage(db, { ...request.seen, ...encodeSeenPage(listed) });
      const joiners = request.collectJoiners
        ? await findUnlinkedAmong(db, request.organizationId, request.tenantId, enabledOn(page.users))
        : [];
      const outsideScope = request.scope ? await outsideScopeAmong(db, request, request.scope, page.users) : undefined;
      return { ok: true, usersRead: page.users.length, observations: [], joiners, outsideScope, ...links };
    }

    // A delta round may list a user more than once (https://learn.microsoft.com/graph/delta-query-overview):
    // within the page, as across pages, the last entry wins, and an entry without accountEnabled
    // does not undo an earlier one.
    const stateOf = new Map<string, AccountState>();
    const upnOf = new Map<string, string | null>();
    for (const user of page.users) {
      stateOf.set(user.oid, user.state === "unchanged" ? (stateOf.get(user.oid) ?? "unchanged") : user.state);
      if (user.upn !== undefined) upnOf.set(user.oid, user.upn);
    }
    const linked = await findLinkedMembersAmong(
      db,
      request.organizationId,
      request.tenantId,
      [...stateOf.keys()],
      request.heldRunId ?? null,
    );
    const joiners = request.collectJoiners
      ? await findUnlinkedAmong(
          db,
          request.organizationId,
          request.tenantId,
          [...stateOf].filter(([, state]) => state === "enabled").map(([oid]) => oid),
        )
      : [];
    return {
      ok: true,
      usersRead: page.users.length,
      observations: linked.map((member) => [
        member.userId,
        stateOf.get(member.oid) ?? "unchanged",
        member.standing,
        member.oid,
        request.scope ? scopeOfName(request.scope, upnOf.get(member.oid)) : null,
      ]),
      joiners,
      ...links,
    };
  } catch (error) {
    if (error instanceof TenantChanged)
      return { ok: false, reason: "tenant_changed", graphRequests: counter.requests, graphBytes: counter.bytes };
    const reason = syncFailureOf(error);
    if (!reason) throw error;
    return { ok: false, reason, graphRequests: counter.requests, graphBytes: counter.bytes };
  }
}

class TenantChanged extends Error {}

const enabledOn = (users: { oid: string; state: AccountState }[]) => users.filter((u) => u.state === "enabled").map((u) => u.oid);
