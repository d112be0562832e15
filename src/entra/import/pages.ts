// The work of an import's Workflow steps, one Graph page each (the directory sync reads the same
// way: a page a step, its link sealed in the step result, which is stored outside our database).
// A step holds one page of users (999 at most) and writes what it found to D1 before it returns a
// few numbers and the next link: group memberships as scratch rows, the plan so far on the import's
// row (the page's progress bar), and, in an apply, the page's new people as scratch rows that the
// write steps then add a bounded number at a time.
import type { Db } from "../../db/client.ts";
import {
  countAddedStatement,
  forgetPendingPeople,
  listPendingPeople,
  markGroupMembers,
  saveImportProgress,
  savePendingPeople,
  scratchOfPage,
} from "../../db/directoryImports.ts";
import { importPersonStatements, type ImportedPerson } from "../../db/importedMembers.ts";
import { findUnlinkedAmong } from "../../db/joiners.ts";
import type { ImportFailure, ImportPhase } from "../../db/schema.ts";
import { runStatements } from "../../db/statements.ts";
import type { Config } from "../../lib/config.ts";
import { createTokenVault } from "../../lib/vault.ts";
import { DIRECTORY_USERS_PATH, groupMembersPath, readUserPage, type DirectoryUser } from "../directory.ts";
import { GRAPH_BUDGETS, GraphError } from "../graph.ts";
import { withOrganizationGraph, type TokenCache } from "../graphAccess.ts";
import { syncFailureOf } from "../sync/failures.ts";
import { importFailureOfSync } from "./failures.ts";
import { vaultContext } from "../tokens.ts";
import { count, couldJoin, nameOf, personOf, type ImportRules, type ImportTally } from "./judge.ts";

/** The import a step works for. */
export interface ImportRun {
  importId: string;
  organizationId: string;
  tenantId: string;
  /** "scope": the preview of a sync scope change (scopePreview.ts), read the same way. */
  phase: ImportPhase;
}

/** Where users are listed: the whole directory, or a group's members (nested groups included). */
export type Source = { kind: "users" } | { kind: "group"; groupId: string };

/** A page read in a step: its work's result and the next link (sealed), or why it failed. */
export type PageRead<T> =
  | ({ ok: true; nextEnc: string | null; graphRequests: number; graphBytes: number } & T)
  | { ok: false; reason: ImportFailure; graphRequests: number; graphBytes: number };

/** People written per D1 batch: five or six statements each, one transaction per batch. */
const PEOPLE_PER_BATCH = 20;

/**
 * Reads one page of `source` (its first page, or the sealed link of the next) and hands its users
 * to `work`, inside the caller's step. A group Graph no longer has is an empty group when
 * `missingIsEmpty` (a mapped group deleted from the directory matches nobody, as at sign-in).
 */
export async function readPage<T>(
  db: Db,
  config: Config,
  run: ImportRun,
  at: { source: Source; linkEnc: string | null; missingIsEmpty?: boolean },
  tokens: TokenCache,
  work: (users: DirectoryUser[]) => Promise<T>,
): Promise<PageRead<T>> {
  const counter = { requests: 0, bytes: 0 };
  const vault = createTokenVault(config.TOKEN_ENCRYPTION_KEYS);
  // Page links are Graph links like a delta link: sealed under that field.
  const sealAs = vaultContext(run.organizationId, run.tenantId, "delta_link");
  const failed = (reason: ImportFailure): PageRead<T> => ({
    ok: false,
    reason,
    graphRequests: counter.requests,
    graphBytes: counter.bytes,
  });
  let url = at.source.kind === "users" ? DIRECTORY_USERS_PATH : groupMembersPath(at.source.groupId);
  if (at.linkEnc) {
    const opened = await vault.open(at.linkEnc, sealAs);
    if (!opened.ok) return failed("internal");
    url = opened.value;
  }
  let page: { users: DirectoryUser[]; nextLink: string | null };
  try {
    page = await withOrganizationGraph(
      db,
      config,
      run.organizationId,
      (graph, tenantId) => (tenantId === run.tenantId ? readUserPage(graph, url) : Promise.reject(new TenantChanged())),
      { ...GRAPH_BUDGETS.background, lowPriority: true, counter, tokens },
    );
  } catch (error) {
    if (error instanceof TenantChanged) return failed("tenant_changed");
    if (at.missingIsEmpty && error instanceof GraphError && error.kind === "not_found") page = { users: [], nextLink: null };
    else return failed(importFailureOf(error));
  }
  const value = await work(page.users);
  const nextEnc = page.nextLink ? await vault.seal(page.nextLink, sealAs) : null;
  return { ok: true, nextEnc, graphRequests: counter.requests, graphBytes: counter.bytes, ...value };
}

class TenantChanged extends Error {}

/** Why a read failed, in the import's closed set; an error that is no Graph or connection failure is thrown (a bug). */
function importFailureOf(error: unknown): ImportFailure {
  const reason = syncFailureOf(error);
  if (reason === null) throw error;
  return importFailureOfSync(reason);
}

/** A page of a group's members, kept as scratch rows: of the sync scope's groups, or of a mapped group. */
export function markGroupPage(
  db: Db,
  config: Config,
  run: ImportRun,
  at: { groupId: string; as: "scope" | "mapped"; linkEnc: string | null },
  tokens: TokenCache,
) {
  const source: Source = { kind: "group", groupId: at.groupId };
  return readPage(db, config, run, { source, linkEnc: at.linkEnc, missingIsEmpty: true }, tokens, async (users) => {
    if (users.length > 0) {
      const oids = users.map((user) => user.id);
      await runStatements(db, [markGroupMembers(db, run.importId, oids, at.as === "scope" ? { inScope: true } : { mapped: at.groupId })]);
    }
    return {};
  });
}

/** Where a listing stands between steps: the plan so far (small: counts and at most 10 names a category). */
export interface ListingState {
  usersRead: number;
  tally: ImportTally;
  /** People of an apply decided and not yet written. */
  pending: number;
}

/**
 * One page of a source judged: each person counted once (with `listedAs`, the page's number among
 * overlapping sources), the plan so far saved on the import's row, and in an apply the page's new
 * people kept for the write steps. Returns the new state; the input is never changed (a replay
 * hands the same state to the same step).
 */
export function judgePage(
  db: Db,
  config: Config,
  run: ImportRun,
  at: { source: Source; linkEnc: string | null; listedAs: number | null; state: ListingState },
  rules: ImportRules,
  tokens: TokenCache,
) {
  return readPage(db, config, run, { source: at.source, linkEnc: at.linkEnc }, tokens, async (users): Promise<{ state: ListingState }> => {
    const state: ListingState = structuredClone(at.state);
    const needsScratch = at.listedAs !== null || rules.checkScopeGroups || rules.mappingOn;
    const scratch = needsScratch
      ? await scratchOfPage(
          db,
          run.importId,
          users.map((u) => u.id),
          at.listedAs,
        )
      : users.map((u) => ({ oid: u.id, inScope: false, mapped: [], firstListed: true }));
    const candidates: { user: DirectoryUser; mapped: string[] }[] = [];
    users.forEach((user, i) => {
      const of = scratch[i]!;
      if (!of.firstListed) return;
      state.usersRead++;
      const skipped = couldJoin(user, of, rules);
      if (skipped) count(state.tally, skipped, nameOf(user));
      else candidates.push({ user, mapped: of.mapped });
    });
    const unlinked = new Set(
      await findUnlinkedAmong(
        db,
        run.organizationId,
        run.tenantId,
        candidates.map((c) => c.user.id),
      ),
    );
    const newPeople: ImportedPerson[] = [];
    for (const { user, mapped } of candidates) {
      if (!unlinked.has(user.id)) {
        count(state.tally, "present", nameOf(user));
        continue;
      }
      const person = personOf(user, mapped, rules);
      count(state.tally, "new", person.displayName, person.role);
      newPeople.push(person);
    }
    const keep = run.phase === "apply" && newPeople.length > 0;
    await runStatements(db, [
      saveImportProgress(db, run.importId, { usersRead: state.usersRead, tally: state.tally, mappingOn: rules.mappingOn }),
      ...(keep ? [savePendingPeople(db, run.importId, newPeople)] : []),
    ]);
    if (keep) state.pending += newPeople.length;
    return { state };
  });
}

/**
 * Writes up to `limit` of the apply's waiting people, PEOPLE_PER_BATCH a D1 batch (a transaction:
 * a person is linked completely or not at all, and the import's count of added people moves with
 * them). Each write changes nothing already there, so a retried step, or a re-run of the whole
 * import, adds nobody twice. Returns how many were taken.
 */
export async function writePendingPeople(
  db: Db,
  run: ImportRun,
  options: { limit: number; keepCounted: boolean },
  now: number,
): Promise<number> {
  const people = await listPendingPeople(db, run.importId, options.limit);
  for (let i = 0; i < people.length; i += PEOPLE_PER_BATCH) {
    const batch = people.slice(i, i + PEOPLE_PER_BATCH);
    await runStatements(db, [
      ...batch.flatMap((person) => importPersonStatements(run.organizationId, run.tenantId, person, now)),
      countAddedStatement(db, { ...run, oids: batch.map((p) => p.oid), now }),
    ]);
  }
  if (people.length > 0)
    await runStatements(db, [
      forgetPendingPeople(
        db,
        run.importId,
        people.map((p) => p.oid),
        options.keepCounted,
      ),
    ]);
  return people.length;
}
