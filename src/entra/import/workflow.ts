// Import as a Cloudflare Workflow (issue 20): one instance per preview or apply, one step per Graph
// page, so an import of a 1,000,000-user directory never runs long in one invocation, never holds
// more than a page of users in memory, and resumes where it stopped after a restart. Each step
// writes its progress on the import's row (the Import section's progress bar reads it).
// - The groups it needs first: with "Only members of these groups" as the sync scope, who is in
//   them; with group mapping on, who is in each mapped group. Kept as scratch rows in D1.
// - Then the users, from the whole directory or from the chosen groups' members, each page judged
//   with the rules of judge.ts. A preview only counts. An apply keeps the page's new people as
//   scratch rows and adds them in write steps of WRITE_STATEMENTS D1 queries at most (Workers allow
//   1,000 a invocation), so whatever the page holds, no step passes the limit.
// - Last, the scratch rows are cleared, the row is closed and an apply is audited; a failure closes
//   it as failed with the reason, and what was written stays written: a re-run skips who is there.
// A preview of a sync scope change (phase "scope") is a run of this Workflow too: it reads the
// proposed scope's people the same way, then judges the linked members (scopePreview.ts). So is the
// mapping page's preview of the next run (phase "next_run"): the mapped groups' members, then the
// linked members decided as the next run would decide them (nextRunSteps.ts).
// run() is replayed after a restart: everything it decides on comes from step results or the event.
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep, type WorkflowStepConfig } from "cloudflare:workers";
import { insertAuditEvent } from "../../db/audit.ts";
import { findConnectionOfTenant, findConnectionSummary } from "../../db/connections.ts";
import { clearImportScratch, finishImport, findImport, pauseImport, resumeImport, type ImportParams } from "../../db/directoryImports.ts";
import { listMappings } from "../../db/mappings.ts";
import type { ImportFailure } from "../../db/schema.ts";
import { runStatements, type Write } from "../../db/statements.ts";
import type { Env } from "../../env.ts";
import { relayAfterCommit } from "../../events/afterCommit.ts";
import { loadConfig } from "../../lib/config.ts";
import type { D1Stats } from "../../lib/d1Stats.ts";
import { meteredSteps, type MeteredSteps } from "../../lib/meteredSteps.ts";
import type { TokenCache } from "../graphAccess.ts";
import type { Db } from "../../db/client.ts";
import { THROTTLE_PAUSES } from "../sync/readLoop.ts";
import { signInScope } from "../signInDirectory.ts";
import { clearRemapScratch, planRemap, type ReadCursor, type RemapPlan } from "../sync/remap.ts";
import { emptyTally, type ImportRules, type ImportTally } from "./judge.ts";
import {
  emptyScopeTally,
  judgeMembersStep,
  judgeScopePage,
  sourcesOfScope,
  type ProposedScope,
  type ScopePreviewState,
} from "./scopePreview.ts";
import {
  decideNextRunStep,
  readNextRunStep,
  recordNothingPending,
  startingProgress,
  type NextRunDecide,
  type NextRunProgress,
} from "./nextRunSteps.ts";
import { judgePage, markGroupPage, writePendingPeople, type ImportRun, type ListingState, type PageRead, type Source } from "./pages.ts";

/** What the instance returns: the import's figures (the benchmark reads them). */
export interface ImportOutput {
  status: "succeeded" | "failed";
  error: ImportFailure | null;
  usersRead: number;
  added: number;
  tally: ImportTally;
  graphRequests: number;
  graphBytes: number;
  d1: D1Stats;
  steps: number;
  /** The most D1 statements one step sent (each step is an invocation; Workers allow 1,000). */
  maxD1StatementsPerStep: number;
}

// Expected failures come back as results, not exceptions; retries are for a crashed invocation.
const STEP: WorkflowStepConfig = { retries: { limit: 3, delay: "10 seconds", backoff: "exponential" }, timeout: "10 minutes" };
/** D1 queries a write step may spend on people (5 a person, 6 with a role decision), leaving room for its own few. */
const WRITE_STATEMENTS = 800;
/** Scratch rows deleted per statement, and statements per step. */
const CLEAR_PER_STATEMENT = 5_000;
const CLEARS_PER_STEP = 20;

type Loaded =
  | { ok: false; reason: ImportFailure }
  | { ok: true; kind: "scope"; run: ImportRun; proposed: ProposedScope }
  /** A preview of the next run; no plan: no mapping edit waits any more. */
  | { ok: true; kind: "next_run"; run: ImportRun; plan: RemapPlan | null }
  | {
      ok: true;
      kind: "import";
      run: ImportRun;
      rules: Omit<ImportRules, "checkScopeGroups">;
      sources: Source[];
      /** The sync scope's groups, when people must be checked against them (the sources are not those groups). */
      scopeGroupIds: string[];
      mappedGroupIds: string[];
      actorUserId: string | null;
      audit: { scope: string; groups: unknown };
    };

export class DirectoryImportWorkflow extends WorkflowEntrypoint<Env, ImportParams> {
  async run(event: Readonly<WorkflowEvent<ImportParams>>, step: WorkflowStep): Promise<ImportOutput> {
    const { importId, organizationId } = event.payload;
    const env = this.env;
    const config = loadConfig(env);
    const steps = meteredSteps(step, env.DB);
    const figures = { graphRequests: 0, graphBytes: 0 };
    let state: ListingState = { usersRead: 0, tally: emptyTally(), pending: 0 };
    let scopeState: ScopePreviewState = { usersRead: 0, tally: emptyScopeTally() };
    let loaded: Loaded = { ok: false, reason: "internal" };

    const end = async (error: ImportFailure | null): Promise<ImportOutput> => {
      const run = loaded.ok ? loaded.run : null;
      await clearScratch(steps, importId);
      if (loaded.ok && loaded.kind === "next_run") {
        for (let part = 1, cleared = false; !cleared; part++) {
          cleared = await steps.do(`clear mapping scratch ${part}`, STEP, (db) => clearRemapScratch(db, importId));
        }
      }
      const added = await steps.do(error ? "record the failure" : "finish", STEP, async (db) => {
        const row = await findImport(db, organizationId, importId);
        const writes: Write[] = [finishImport(db, importId, { error, now: Date.now() })];
        if (loaded.ok && loaded.kind === "import" && run?.phase === "apply" && row?.status === "running") {
          const { counts, rolesOfNew } = state.tally;
          const details = error
            ? { importId, reason: error, created: row.added, usersRead: state.usersRead }
            : {
                importId,
                ...loaded.audit,
                created: row.added,
                alreadyPresent: counts.present,
                skippedGuests: counts.guests,
                skippedDisabled: counts.disabled,
                skippedOutsideDomains: counts.outsideDomains,
                roles: rolesOfNew,
              };
          writes.push(
            insertAuditEvent(db, {
              organizationId,
              actorUserId: loaded.actorUserId,
              action: error ? "entra.import_failed" : "entra.import_applied",
              details,
              now: Date.now(),
            }),
          );
        }
        await runStatements(db, writes);
        // The last people's events go to the webhook queue now; a relay failure fails nothing.
        await relayAfterCommit(env.WEBHOOK_DELIVERIES, { here: { db, now: Date.now() } });
        return row?.added ?? 0;
      });
      return {
        status: error ? "failed" : "succeeded",
        error,
        // One of the two is zero: an import's listing, or a scope preview's.
        usersRead: state.usersRead + scopeState.usersRead,
        added,
        tally: state.tally,
        ...figures,
        d1: steps.total,
        steps: steps.steps.length,
        maxD1StatementsPerStep: Math.max(0, ...steps.steps.map((s) => s.d1.statements)),
      };
    };

    // Throttling longer than the Graph client waits out (Graph answered 429 or 503 after its
    // Retry-After waits: https://learn.microsoft.com/en-us/graph/throttling): a pause, then the
    // same page again, as a sync run does. The pause is written on the row before the sleep, so the
    // progress the page polls says why the bar stands still and when the read starts again; the
    // next read that answers clears it, in the read's own step, and the end of the run does too.
    let pauses = 0;
    let paused = false;
    const readPaced = async <R extends { ok: boolean; reason?: ImportFailure }>(name: string, read: (db: Db) => Promise<R>): Promise<R> => {
      for (;;) {
        const resuming = paused;
        const result = await steps.do(pauses > 0 ? `${name} after pause ${pauses}` : name, STEP, async (db) => {
          const answer = await read(db);
          if (resuming && answer.ok) await runStatements(db, [resumeImport(db, importId)]);
          return answer;
        });
        if (result.ok) paused = false;
        const pause = THROTTLE_PAUSES[pauses];
        if (result.ok || result.reason !== "throttled" || pause === undefined) return result;
        pauses++;
        await steps.do(`record throttled pause ${pauses}`, STEP, async (db) => {
          await runStatements(db, [pauseImport(db, importId, Date.now() + pause * 1000)]);
          return null;
        });
        paused = true;
        await step.sleep(`throttled pause ${pauses}`, `${pause} seconds`);
      }
    };

    // Every page of a listing (its first, then each next link), each read in a paced step; `onPage`
    // takes a page's result before the next is read. Returns the failure that ended it, or null.
    const eachPage = async <T>(
      name: (page: number) => string,
      read: (db: Db, linkEnc: string | null, page: number) => Promise<PageRead<T>>,
      onPage: (result: PageRead<T> & { ok: true }, page: number) => Promise<void> = async () => {},
    ): Promise<ImportFailure | null> => {
      let linkEnc: string | null = null;
      for (let page = 1; ; page++) {
        const link: string | null = linkEnc;
        const result: PageRead<T> = await readPaced(name(page), (db) => read(db, link, page));
        figures.graphRequests += result.graphRequests;
        figures.graphBytes += result.graphBytes;
        if (!result.ok) return result.reason;
        await onPage(result, page);
        if (!result.nextEnc) return null;
        linkEnc = result.nextEnc;
      }
    };

    try {
      loaded = await steps.do("load the import", STEP, (db) => loadImport(db, importId, organizationId));
      if (!loaded.ok) return await end(loaded.reason);
      // Memory only: after a restart the token is read again.
      const tokens: TokenCache = { accessToken: null, tenantId: null };
      if (loaded.kind === "next_run") {
        const { run, plan } = loaded;
        if (!plan) {
          await steps.do("nothing pending", STEP, (db) => recordNothingPending(db, importId));
          return await end(null);
        }
        let progress: NextRunProgress = startingProgress(plan);
        for (let n = 1, cursor: ReadCursor | null = plan.mappings.length > 0 ? { group: 0, link: null } : null; cursor; n++) {
          const at = { cursor, progress };
          const read = await readPaced(`read mapped groups ${n}`, (db) => readNextRunStep(db, config, run, plan, at, tokens));
          figures.graphRequests += read.graphRequests;
          figures.graphBytes += read.graphBytes;
          if (!read.ok) return await end(read.reason);
          progress = read.progress;
          cursor = read.next;
        }
        for (let part = 1, after: string | null = ""; after !== null; part++) {
          const at: { after: string; progress: NextRunProgress } = { after, progress };
          const decided: NextRunDecide = await steps.do(`decide members ${part}`, STEP, (db) => decideNextRunStep(db, run, plan, at));
          if (!decided.ok) return await end(decided.reason);
          progress = decided.progress;
          after = decided.next;
        }
        return await end(null);
      }
      if (loaded.kind === "scope") {
        const { run, proposed } = loaded;
        const sources = sourcesOfScope(proposed);
        for (const [s, source] of sources.entries()) {
          const failed = await eachPage(
            (page) => `read scope source ${s + 1} page ${page}`,
            (db, linkEnc, page) => {
              const listedAs = sources.length > 1 ? (s + 1) * 1_000_000 + page : null;
              return judgeScopePage(db, config, run, { source, linkEnc, listedAs, state: scopeState }, proposed, tokens);
            },
            async (read) => {
              scopeState = read.state;
            },
          );
          if (failed) return await end(failed);
        }
        for (let part = 1, after: string | null = ""; after !== null; part++) {
          const at: Parameters<typeof judgeMembersStep>[2] = { afterUserId: after, state: scopeState };
          const judged: Awaited<ReturnType<typeof judgeMembersStep>> = await steps.do(`judge members ${part}`, STEP, (db) =>
            judgeMembersStep(db, run, at),
          );
          scopeState = judged.state;
          after = judged.next;
        }
        return await end(null);
      }
      const { run, sources } = loaded;

      const memberships = [
        ...loaded.scopeGroupIds.map((groupId) => ({ groupId, as: "scope" as const })),
        ...loaded.mappedGroupIds.map((groupId) => ({ groupId, as: "mapped" as const })),
      ];
      for (const [g, group] of memberships.entries()) {
        const failed = await eachPage(
          (page) => `read ${group.as} group ${g + 1} page ${page}`,
          (db, linkEnc) => markGroupPage(db, config, run, { ...group, linkEnc }, tokens),
        );
        if (failed) return await end(failed);
      }

      const rules: ImportRules = { ...loaded.rules, checkScopeGroups: loaded.scopeGroupIds.length > 0 };
      const overlapping = sources.length > 1;
      // A person costs 5 statements, 6 with a role decision, and their batch's count one more per 20.
      const writeLimit = Math.floor(WRITE_STATEMENTS / (rules.mappingOn ? 6.05 : 5.05));
      for (const [s, source] of sources.entries()) {
        const failed = await eachPage(
          (page) => `read source ${s + 1} page ${page}`,
          (db, linkEnc, page) => {
            const listedAs = overlapping ? (s + 1) * 1_000_000 + page : null;
            return judgePage(db, config, run, { source, linkEnc, listedAs, state }, rules, tokens);
          },
          async (read, page) => {
            state = read.state;
            // The page's new people, a bounded number a step, before the next page is read.
            for (let part = 1; state.pending > 0; part++) {
              const written = await steps.do(`add people ${s + 1}.${page}.${part}`, STEP, async (db) => {
                const taken = await writePendingPeople(db, run, { limit: writeLimit, keepCounted: overlapping }, Date.now());
                // Their member.imported events go to the webhook queue as they are made; a relay failure fails nothing.
                await relayAfterCommit(env.WEBHOOK_DELIVERIES, { here: { db, now: Date.now() } });
                return taken;
              });
              state = { ...state, pending: written < writeLimit ? 0 : state.pending - written };
            }
          },
        );
        if (failed) return await end(failed);
      }
      return await end(null);
    } catch (error) {
      // Anything unexpected still closes the import as failed, so the page never shows it running forever.
      console.error("directory import failed", error instanceof Error ? error.name : typeof error);
      return await end("internal");
    }
  }
}

/** The import's row, the connection and the rules it decides with, read once. */
async function loadImport(db: Parameters<typeof findImport>[0], importId: string, organizationId: string): Promise<Loaded> {
  const row = await findImport(db, organizationId, importId);
  if (!row || row.status !== "running") return { ok: false, reason: "internal" };
  const summary = await findConnectionSummary(db, organizationId);
  if (summary?.status !== "connected" || !summary.tenantId) return { ok: false, reason: "not_connected" };
  const [connection] = await findConnectionOfTenant(db, summary.tenantId);
  if (!connection || connection.organizationId !== organizationId) return { ok: false, reason: "not_connected" };
  const run: ImportRun = { importId, organizationId, tenantId: summary.tenantId, phase: row.phase };
  if (row.phase === "next_run") {
    if (!summary.groupRoleMapping) return { ok: false, reason: "mapping_off" };
    return { ok: true, kind: "next_run", run, plan: await planRemap(db, organizationId) };
  }
  if (row.phase === "scope") return { ok: true, kind: "scope", run, proposed: JSON.parse(row.scope) as ProposedScope };
  const scope = signInScope(connection);
  const mappings = connection.groupRoleMapping ? await listMappings(db, organizationId) : [];
  const chosen = JSON.parse(row.scope) as { scope: "all" } | { scope: "groups"; groupIds: string[] };
  const scopeGroups = scope.mode === "groups" ? scope.groupIds : [];
  // "All users" with a group scope lists the scope's groups: everyone listed is in scope.
  const listsScopeGroups = chosen.scope === "all" && scopeGroups.length > 0;
  const sources: Source[] =
    chosen.scope === "groups"
      ? chosen.groupIds.map((groupId) => ({ kind: "group", groupId }))
      : listsScopeGroups
        ? scopeGroups.map((groupId) => ({ kind: "group", groupId }))
        : [{ kind: "users" }];
  return {
    ok: true,
    kind: "import",
    run,
    rules: {
      domains: scope.domains,
      mappingOn: connection.groupRoleMapping,
      defaultRole: connection.defaultRole,
      mappings,
      readAt: Date.now(),
    },
    sources,
    scopeGroupIds: listsScopeGroups ? [] : scopeGroups,
    mappedGroupIds: [...new Set(mappings.map((m) => m.groupId.toLowerCase()))],
    actorUserId: row.startedBy,
    audit: { scope: chosen.scope, groups: JSON.parse(row.groups) },
  };
}

/** The import's scratch rows go, CLEAR_PER_STATEMENT × CLEARS_PER_STEP a step. */
async function clearScratch(steps: MeteredSteps, importId: string): Promise<void> {
  for (let part = 1; ; part++) {
    const cleared = await steps.do(`clear scratch rows ${part}`, STEP, async (db) => {
      let total = 0;
      for (let i = 0; i < CLEARS_PER_STEP; i++) {
        const gone = await clearImportScratch(db, importId, CLEAR_PER_STATEMENT);
        total += gone;
        if (gone < CLEAR_PER_STATEMENT) return { total, done: true };
      }
      return { total, done: false };
    });
    if (cleared.done) return;
  }
}
