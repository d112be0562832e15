// The directory sync as a Cloudflare Workflow: one instance per run, one step per Graph page.
// A step's result is checkpointed, so a 500k-user tenant's run resumes where it stopped after a
// restart instead of starting over, and no single invocation runs long. The run decides only
// after the last page: until then nothing is written (partial information deactivates nobody).
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep, type WorkflowStepConfig } from "cloudflare:workers";
import { createDb, type Db } from "../../db/client.ts";
import type { MemberStanding } from "../../db/syncMembers.ts";
import { findSyncSettings, type FinishedStatus, type SyncMode, type SyncRunParams } from "../../db/syncRuns.ts";
import type { Env } from "../../env.ts";
import { loadConfig } from "../../lib/config.ts";
import { concludeRun } from "./concludeRun.ts";
import { addD1Stats, countingD1, emptyD1Stats, type D1Stats } from "./d1Stats.ts";
import type { DirectoryState } from "./directoryPage.ts";
import type { SyncFailure } from "./failures.ts";
import type { TokenCache } from "../graphAccess.ts";
import { observePage, type PageRequest, type PageResult } from "./observePage.ts";
import { mergeObservations } from "./planDirectoryChanges.ts";
import { recordRunOutcome } from "./recordRun.ts";

/** What the instance returns: the run's figures (the benchmark reads them). */
export interface SyncRunOutput {
  status: FinishedStatus;
  mode: SyncMode | null;
  usersRead: number;
  graphRequests: number;
  deactivated: number;
  reactivated: number;
  error: SyncFailure | null;
  d1: D1Stats;
}

/** A run must have read everything by then, or it fails: the night is over. */
export const RUN_DEADLINE_MS = 6 * 60 * 60 * 1000;
/** Longer throttling than the Graph client waits out: sleep, then read the same page again. */
const THROTTLE_PAUSES = [60, 300, 900] as const;
/** A lost sync state restarts the read as a full listing; more than this fails the run. */
const MAX_RESTARTS = 2;

// Expected failures come back as results, not exceptions; retries are for a crashed invocation.
const STEP: WorkflowStepConfig = { retries: { limit: 3, delay: "10 seconds", backoff: "exponential" }, timeout: "10 minutes" };

/** Runs a step's work on a db whose D1 calls are counted; the counts travel in the step's result. */
async function counted<T>(d1: D1Database, work: (db: Db) => Promise<T>): Promise<{ value: T; d1: D1Stats }> {
  const stats = emptyD1Stats();
  const value = await work(createDb(countingD1(d1, stats)));
  return { value, d1: stats };
}

type Observed = Map<string, { state: DirectoryState; standing: MemberStanding }>;

export class DirectorySyncWorkflow extends WorkflowEntrypoint<Env, SyncRunParams> {
  async run(event: Readonly<WorkflowEvent<SyncRunParams>>, step: WorkflowStep): Promise<SyncRunOutput> {
    const { runId, organizationId, trigger } = event.payload;
    const env = this.env;
    const config = loadConfig(env);
    const startedAt = event.timestamp.getTime();
    let d1 = emptyD1Stats();
    let graphRequests = 0;
    let usersRead = 0;
    let mode: SyncMode | null = null;

    const fail = async (reason: SyncFailure): Promise<SyncRunOutput> => {
      const recorded = await step.do("record failure", STEP, () =>
        counted(env.DB, (db) =>
          recordRunOutcome(db, {
            organizationId, runId, trigger, status: "failed", mode, usersRead, deactivated: 0, reactivated: 0, graphRequests,
            error: reason, pending: null, deltaLink: null, now: Date.now(),
          }),
        ),
      );
      d1 = addD1Stats(d1, recorded.d1);
      return { status: "failed", mode, usersRead, graphRequests, deactivated: 0, reactivated: 0, error: reason, d1 };
    };

    try {
      const loaded = await step.do("load connection", STEP, () =>
        counted(env.DB, async (db) => {
          const settings = await findSyncSettings(db, organizationId);
          return { tenantId: settings?.status === "connected" ? settings.tenantId : null, deltaLinkEnc: settings?.deltaLinkEnc ?? null };
        }),
      );
      d1 = addD1Stats(d1, loaded.d1);
      const start = loaded.value;
      const tenantId = start.tenantId;
      if (!tenantId) return await fail("not_connected");

      const tokens: TokenCache = { accessToken: null, tenantId: null };
      const observed: Observed = new Map();
      let linkEnc = start.deltaLinkEnc;
      mode = linkEnc ? "delta" : "full";
      let deltaLinkEnc: string | null = null;
      // A full listing starts by taking a delta link for "now": the next run reads changes from there.
      let trackingLinkEnc: string | null = null;
      let restarts = 0;
      let pauses = 0;
      for (let page = 1; ; page++) {
        if (Date.now() - startedAt > RUN_DEADLINE_MS) return await fail("timed_out");
        const deltaFromNow: boolean = mode === "full" && trackingLinkEnc === null;
        const request: PageRequest = { organizationId, tenantId, linkEnc, deltaFromNow };
        const label: string = deltaFromNow ? "delta link" : `${mode} page`;
        const read = await step.do(`read ${label} ${restarts}.${page}.${pauses}`, STEP, () =>
          counted(env.DB, (db) => observePage(db, config, request, tokens)),
        );
        d1 = addD1Stats(d1, read.d1);
        const result: PageResult = read.value;
        graphRequests += result.graphRequests;
        if (!result.ok) {
          if (result.reason === "sync_state_gone") {
            // The delta link (or a page link) expired: forget what was read and list everyone.
            if (restarts >= MAX_RESTARTS) return await fail("sync_state_lost");
            restarts++;
            observed.clear();
            usersRead = 0;
            linkEnc = null;
            trackingLinkEnc = null;
            mode = "full";
            page = 0;
            continue;
          }
          const pause = THROTTLE_PAUSES[pauses];
          if (result.reason === "throttled" && pause !== undefined && Date.now() - startedAt + pause * 1000 < RUN_DEADLINE_MS) {
            pauses++;
            await step.sleep(`throttled pause ${pauses}`, `${pause} seconds`);
            page--;
            continue;
          }
          return await fail(result.reason);
        }
        if (deltaFromNow) {
          if (!result.deltaLinkEnc) return await fail("internal");
          trackingLinkEnc = result.deltaLinkEnc;
          page = 0;
          continue;
        }
        usersRead += result.usersRead;
        mergeObservations(observed, result.observations);
        if (!result.nextLinkEnc) {
          deltaLinkEnc = mode === "full" ? trackingLinkEnc : result.deltaLinkEnc;
          break;
        }
        linkEnc = result.nextLinkEnc;
      }

      const runMode = mode;
      const conclusion = await step.do("conclude", STEP, () =>
        counted(env.DB, (db) =>
          concludeRun(db, {
            runId, organizationId, tenantId, trigger, mode: runMode, usersRead, graphRequests, observed, deltaLinkEnc,
            previousLinkEnc: start.deltaLinkEnc,
          }, Date.now()),
        ),
      );
      d1 = addD1Stats(d1, conclusion.d1);
      const concluded = conclusion.value;
      return {
        status: concluded.status, mode, usersRead, graphRequests,
        deactivated: concluded.deactivated, reactivated: concluded.reactivated, error: null, d1,
      };
    } catch (error) {
      // Anything unexpected still closes the run as failed, so the page never shows it running forever.
      console.error("directory sync run failed", error instanceof Error ? error.name : typeof error);
      return await fail("internal");
    }
  }
}
