// The preview of a sync scope change (issue 20), a run of the import Workflow (workflow.ts) of the
// phase "scope": the proposed scope's people are read page by page as Import reads them (pages.ts
// readPage: one Graph page a step, its link sealed), so a tenant of any size previews its scope
// with at most one page of users in memory. Two passes:
// 1. The directory: the whole of it (everyone in the chosen domains) or the proposed groups'
//    transitive members. Each page's people in the proposed scope are marked in the scratch rows
//    (in_scope), and the enabled ones who are not members yet are counted as "would be added".
// 2. The organization's members linked to the tenant, MEMBERS_PER_STEP a step in user id order,
//    against those scratch rows: an active member outside the proposed scope "would be deactivated"
//    (left the sync scope), one deactivated for leaving it who is back "would be reactivated".
// Only counts and the first names (SAMPLE_SIZE) leave a step. The last active Owner is never
// counted as leaving: the run that applies the scope keeps them (src/db/syncMembers.ts), and so
// does this count. Nothing here changes a member: Save stores the scope and a directory run applies
// it (src/entra/scopeChange.ts says why).
import type { Db } from "../../db/client.ts";
import { markGroupMembers, saveImportProgress, scratchOfPage } from "../../db/directoryImports.ts";
import { findUnlinkedAmong } from "../../db/joiners.ts";
import { listStandingsAgainstPreview, scopeMove } from "../../db/scopeMembers.ts";
import type { SyncScopeMode } from "../../db/schema.ts";
import { runStatements } from "../../db/statements.ts";
import type { Config } from "../../lib/config.ts";
import { isProvisionableMember } from "../directory.ts";
import type { TokenCache } from "../graphAccess.ts";
import { nameOf } from "./judge.ts";
import { readPage, type ImportRun, type Source } from "./pages.ts";

/** Names shown per list. */
const SAMPLE_SIZE = 20;
/** Linked members judged per step: four reads of 5,000, well inside a step's D1 budget. */
const MEMBERS_PER_READ = 5_000;
const READS_PER_STEP = 4;

/** A scope as proposed on the page (validated by the route; its domains checked against the tenant's). */
export interface ProposedScope {
  mode: SyncScopeMode;
  groupIds: string[];
  domains: string[];
}

export interface PersonList {
  count: number;
  names: string[];
}

/** The preview so far: what the Sync scope section shows (the row's `tally`). */
export interface ScopeTally {
  added: PersonList;
  deactivated: PersonList;
  reactivated: PersonList;
  /** Active Owners seen, and those of them outside the proposed scope (the last one stays). */
  activeOwners: number;
  ownersLeaving: number;
  /** The first names of the Owners leaving: shown once pass 2 knows whether one must stay. */
  ownerNames: string[];
  /** Active Owners would all leave: one stays, whatever the scope. */
  lastOwnerKept: boolean;
  /** Pass 2 has judged every linked member. */
  membersJudged: boolean;
}

export const emptyScopeTally = (): ScopeTally => ({
  added: { count: 0, names: [] },
  deactivated: { count: 0, names: [] },
  reactivated: { count: 0, names: [] },
  activeOwners: 0,
  ownersLeaving: 0,
  ownerNames: [],
  lastOwnerKept: false,
  membersJudged: false,
});

function note(into: PersonList, name: string) {
  into.count++;
  if (into.names.length < SAMPLE_SIZE) into.names.push(name);
}

/** Where the preview stands between steps (small: counts and at most 20 names a list). */
export interface ScopePreviewState {
  usersRead: number;
  tally: ScopeTally;
}

/** The directory's sources for a proposed scope: everyone, or each proposed group's members. */
export function sourcesOfScope(proposed: ProposedScope): Source[] {
  return proposed.mode === "domains" ? [{ kind: "users" }] : proposed.groupIds.map((groupId) => ({ kind: "group", groupId }));
}

/**
 * Pass 1, one page: its people in the proposed scope marked in the scratch rows, the enabled ones
 * not yet members counted as added. With several groups (`listedAs`), a person counts once.
 * Returns the new state; the input is never changed (a replay hands the same state to the same step).
 */
export function judgeScopePage(
  db: Db,
  config: Config,
  run: ImportRun,
  at: { source: Source; linkEnc: string | null; listedAs: number | null; state: ScopePreviewState },
  proposed: ProposedScope,
  tokens: TokenCache,
) {
  return readPage(db, config, run, { source: at.source, linkEnc: at.linkEnc }, tokens, async (users) => {
    const state: ScopePreviewState = structuredClone(at.state);
    const oids = users.map((u) => u.id);
    const firstListed =
      at.listedAs === null
        ? null
        : new Set((await scratchOfPage(db, run.importId, oids, at.listedAs)).filter((s) => s.firstListed).map((s) => s.oid));
    const counted = firstListed ? users.filter((u) => firstListed.has(u.id)) : users;
    // Listed by a proposed group or the directory, and in a chosen domain (guests never are).
    const inScope = counted.filter((user) => isProvisionableMember(user, proposed.domains));
    state.usersRead += counted.length;
    const unlinked = new Set(
      await findUnlinkedAmong(
        db,
        run.organizationId,
        run.tenantId,
        inScope.filter((u) => u.accountEnabled !== false).map((u) => u.id),
      ),
    );
    for (const user of inScope) if (unlinked.has(user.id)) note(state.tally.added, nameOf(user));
    await runStatements(db, [
      ...(inScope.length > 0
        ? [
            markGroupMembers(
              db,
              run.importId,
              inScope.map((u) => u.id),
              { inScope: true },
            ),
          ]
        : []),
      saveImportProgress(db, run.importId, { usersRead: state.usersRead, tally: state.tally, mappingOn: false }),
    ]);
    return { state };
  });
}

/**
 * Pass 2, one step: up to READS_PER_STEP × MEMBERS_PER_READ linked members after `afterUserId`
 * judged against the scratch rows. Returns the new state and where the next step starts (null: done).
 */
export async function judgeMembersStep(
  db: Db,
  run: ImportRun,
  at: { afterUserId: string; state: ScopePreviewState },
): Promise<{ state: ScopePreviewState; next: string | null }> {
  const state: ScopePreviewState = structuredClone(at.state);
  const tally = state.tally;
  let after: string | null = at.afterUserId;
  for (let read = 0; read < READS_PER_STEP && after !== null; read++) {
    const page = await listStandingsAgainstPreview(db, { ...run, afterUserId: after, limit: MEMBERS_PER_READ });
    for (const member of page) {
      const move = scopeMove(member, member.in_scope === 1);
      if (member.status === "active" && member.role === "owner") tally.activeOwners++;
      if (move === "leaves") {
        if (member.role !== "owner") note(tally.deactivated, member.name);
        else if (tally.ownersLeaving++ < SAMPLE_SIZE) tally.ownerNames.push(member.name);
      } else if (move === "returns") note(tally.reactivated, member.name);
    }
    after = page.length < MEMBERS_PER_READ ? null : (page.at(-1)?.user_id ?? null);
  }
  if (after === null) {
    // Every active Owner outside the scope: the last one stays, counted and named nowhere.
    tally.lastOwnerKept = tally.ownersLeaving > 0 && tally.ownersLeaving >= tally.activeOwners;
    const leaving = tally.ownersLeaving - (tally.lastOwnerKept ? 1 : 0);
    tally.deactivated.count += leaving;
    const room = Math.max(0, SAMPLE_SIZE - tally.deactivated.names.length);
    tally.deactivated.names.push(...tally.ownerNames.slice(0, Math.min(leaving, room)));
    tally.membersJudged = true;
  }
  await runStatements(db, [saveImportProgress(db, run.importId, { usersRead: state.usersRead, tally, mappingOn: false })]);
  return { state, next: after };
}
