// The directory sync as a Cloudflare Workflow: one instance per run, one step per Graph page.
// A step's result is checkpointed, so a 1M-user tenant's run resumes where it stopped after a
// restart instead of starting over, and no single invocation runs long. The run decides only
// after the last page: until then no member is changed (partial information deactivates nobody).
// Memory stays bounded: a full listing's page step stores who it saw in D1 (sync_run_seen) and
// returns only links and counts; a delta page returns the linked members it lists, and the run
// keeps only those that may need action. A replay after a restart re-reads those small results.
// run() is replayed after a restart: everything it decides on (time included) comes from a step
// result or the event, never from the clock outside a step (see readLoop.ts).
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep, type WorkflowStepConfig } from "cloudflare:workers";
import { createDb } from "../../db/client.ts";
import type { SyncFailure } from "../../db/schema.ts";
import { clearRereadMark } from "../../db/realtimeSubscriptions.ts";
import { findSyncSettings, pauseRun, resumeRun, type FinishedStatus, type SyncMode, type SyncRunParams } from "../../db/syncRuns.ts";
import { runStatements } from "../../db/statements.ts";
import type { Env } from "../../env.ts";
import { loadConfig } from "../../lib/config.ts";
import type { TokenCache } from "../graphAccess.ts";
import { concludeRun } from "./concludeRun.ts";
import type { D1Stats } from "../../lib/d1Stats.ts";
import { meteredSteps } from "../../lib/meteredSteps.ts";
import { observePage } from "./observePage.ts";
import { confirmLeavers } from "./confirmLeavers.ts";
import { applyConfirmations, keepActionable, leaversToConfirm, mergeObservations, type Observed } from "./planDirectoryChanges.ts";
import { advance, firstRead, pageRequest, stepName, withinDeadline, type ReadState, type TimedPageResult } from "./readLoop.ts";
import { recordRunOutcome } from "./recordRun.ts";
import { startPendingReread } from "../realtime/reread.ts";
import { READ_NOW_EVENT } from "./schedule.ts";
import { relayAfterCommit } from "../../events/afterCommit.ts";
import { findRoleSettings } from "../../db/groupTracking.ts";
import { applyGroupRoles, followGroupChanges, ROLES_PER_STEP } from "./groupRoles.ts";
import { followMappingEdits, remapsAfterEdits } from "./remapSteps.ts";
import { MAX_CANDIDATES, addNewPeopleOfRun } from "./addNewPeople.ts";
import { refreshDomainsOfRun } from "./refreshDomains.ts";
import { readScopeGroups } from "./scopeOfRun.ts";
import { applyGroupScope, scopeOfName, scopeSettingsOf, withRefreshedDomains } from "./runScope.ts";

/** What the instance returns: the run's figures (the benchmark reads them). */
export interface SyncRunOutput {
  status: FinishedStatus;
  mode: SyncMode | null;
  usersRead: number;
  graphRequests: number;
  /** Bytes of Graph replies read (the benchmark's graph_bytes). */
  graphBytes: number;
  deactivated: number;
  reactivated: number;
  /** Roles group mapping changed in this run (issue 19; the benchmark's roles_changed). */
  rolesChanged?: number;
  error: SyncFailure | null;
  d1: D1Stats;
  /** The most D1 statements one step sent (each step is an invocation; Workers allow 1,000). */
  maxD1StatementsPerStep?: number;
}

// Expected failures come back as results, not exceptions; retries are for a crashed invocation.
const STEP: WorkflowStepConfig = { retries: { limit: 3, delay: "10 seconds", backoff: "exponential" }, timeout: "10 minutes" };

export class DirectorySyncWorkflow extends WorkflowEntrypoint<Env, SyncRunParams> {
  async run(event: Readonly<WorkflowEvent<SyncRunParams>>, step: WorkflowStep): Promise<SyncRunOutput> {
    const output = await this.readAndConclude(event, step);
    // Real-time updates: notifications that came while this run went asked for one more read
    // (src/entra/realtime/reread.ts). The run row is closed by now, so the next one may start.
    const { organizationId } = event.payload;
    await step.do("start the re-read notifications asked for", STEP, async () => {
      const reread = await startPendingReread(createDb(this.env.DB), this.env.SYNC_WORKFLOW, organizationId, Date.now());
      return reread.started;
    });
    return output;
  }

  private async readAndConclude(event: Readonly<WorkflowEvent<SyncRunParams>>, step: WorkflowStep): Promise<SyncRunOutput> {
    const { runId, organizationId, trigger, notBefore } = event.payload;
    const env = this.env;
    const config = loadConfig(env);
    // A nightly run waits for its slot in the night's window (fanout.ts); its deadline counts from there.
    const startedAt = Math.max(event.timestamp.getTime(), notBefore ?? 0);
    // A duration from the event, not sleepUntil: the wait is the same on a replay, and never a time already past.
    // A change notification for the organization wakes it early (notifications/reread.ts): a leaver
    // is not kept waiting for the slot. The wait ends either way; its timeout is the slot.
    if (startedAt > event.timestamp.getTime()) {
      try {
        await step.waitForEvent("wait for its start slot", { type: READ_NOW_EVENT, timeout: startedAt - event.timestamp.getTime() });
      } catch {
        // The slot came (Workflows ends the wait with a timeout error): time to read.
      }
    }
    // A real-time read waits a moment before reading (REALTIME_GATHER_MS, 2 s): a bulk change in
    // Entra (20 people disabled at once) arrives as many notifications over a second or so, and all
    // that come before the read starts are covered by it (the load step below clears the re-read
    // mark), so a burst costs one read instead of two. Graph does not promise that a change is in
    // delta query's results the moment its notification is sent
    // (https://learn.microsoft.com/en-us/graph/change-notifications-overview is silent on it), which
    // this pause also allows for; the nightly run catches anything missed.
    if (trigger === "realtime") await step.sleep("gather the burst of notifications", config.REALTIME_GATHER_MS);
    // Every step below is counted at its boundary (src/lib/meteredSteps.ts); the run returns the total.
    const steps = meteredSteps(step, env.DB);
    let graphRequests = 0;
    let graphBytes = 0;
    let usersRead = 0;
    let mode: SyncMode | null = null;

    // The run's events (deactivations, a held or failed run) go to the webhook queue now, not at
    // the next request; a relay failure never fails the run (the rows wait for the next relay).
    const relayEvents = async (name: string) => {
      await steps.do(
        name,
        STEP,
        async (db) => (await relayAfterCommit(env.WEBHOOK_DELIVERIES, { here: { db, now: Date.now() } }))?.events ?? 0,
      );
    };

    const fail = async (reason: SyncFailure): Promise<SyncRunOutput> => {
      await steps.do("record failure", STEP, (db) =>
        recordRunOutcome(db, {
          organizationId,
          runId,
          trigger,
          status: "failed",
          mode,
          usersRead,
          deactivated: 0,
          reactivated: 0,
          graphRequests,
          error: reason,
          pending: null,
          deltaLink: null,
          now: Date.now(),
        }),
      );
      await relayEvents("relay events after failure");
      return {
        status: "failed",
        mode,
        usersRead,
        graphRequests,
        graphBytes,
        deactivated: 0,
        reactivated: 0,
        error: reason,
        d1: steps.total,
      };
    };

    const scopeChange = event.payload.scopeChange === true;
    try {
      const loaded = await steps.do("load connection", STEP, async (db) => {
        // A run that may change members reads from here on: notifications so far are covered
        // (src/entra/realtime/reread.ts, the invariant).
        if (trigger !== "preview") await clearRereadMark(db, organizationId, Date.now());
        const settings = await findSyncSettings(db, organizationId);
        // A held run waiting for a person: this run will change nothing (concludeRun.ts).
        const heldRunId = trigger !== "preview" ? (settings?.heldRunId ?? null) : null;
        return {
          tenantId: settings?.status === "connected" ? settings.tenantId : null,
          deltaLinkEnc: settings?.deltaLinkEnc ?? null,
          heldRunId,
          // Add new people automatically (issue 20): never in a preview.
          addNewPeople: trigger !== "preview" && settings?.addNewPeople === true,
          // Whether the run decides who leaves (and who is back): a preview shows it, Auto-deprovision
          // sync applies it, and so does a run a saved scope started (scopeChangeRun.ts). A run that
          // only adds people judges nobody (concludeRun.ts), so it spends no Graph request on it.
          judgesLeavers: trigger === "preview" || settings?.autoDeprovision === true || scopeChange,
          // The sync scope the run judges its members by (issue 20, runScope.ts): a few domains and group ids.
          scope: settings ? scopeSettingsOf(settings) : null,
        };
      });
      const { tenantId, deltaLinkEnc: storedLinkEnc } = loaded;
      // `?? null`, `?? true`: a step result checkpointed before the field existed. Without its
      // scope, the run cannot tell who is in it and changes nobody for the scope (runScope.ts).
      const heldRunId = loaded.heldRunId ?? null;
      const collectJoiners = loaded.addNewPeople === true;
      const judgesLeavers = loaded.judgesLeavers ?? true;
      const candidates = new Set<string>();
      if (!tenantId) return await fail("not_connected");

      // Memory only: after a restart the token is read again, and the checkpointed pages are not.
      const tokens: TokenCache = { accessToken: null, tenantId: null };
      // The tenant's verified domains, refreshed by each run (issue 20): the sync scope's list.
      // A chosen domain Entra removed: a full listing finds its people (runScope.ts).
      const domains =
        trigger !== "preview"
          ? await steps.do("refresh the tenant's domains", STEP, (db) =>
              refreshDomainsOfRun(db, config, { organizationId, tenantId }, tokens, Date.now()),
            )
          : null;
      // A chosen domain Entra removed counts no more from this run on.
      const scopeSettings = withRefreshedDomains(loaded.scope ?? null, domains?.chosen);
      const outsideDomains = new Set<string>();
      const observed = new Map<string, Observed>();
      let state: ReadState = firstRead(domains?.chosenRemoved ? null : storedLinkEnc);
      let nextDeltaLinkEnc: string | null;
      // Whether the run sleeps a throttled pause (below): the next read that answers clears the row's
      // paused_until in its own step. Derived from step results only, so a replay agrees.
      let paused = false;
      // Pages judge who is outside the scope only for a run that judges leavers.
      const pageScope = judgesLeavers ? scopeSettings : null;
      for (;;) {
        mode = state.mode;
        const request = { ...pageRequest(state, organizationId, tenantId, runId, heldRunId), collectJoiners, scope: pageScope };
        const resuming = paused;
        const read = await steps.do(stepName(state), STEP, async (db): Promise<TimedPageResult> => {
          if (!withinDeadline(startedAt, Date.now()))
            return { ok: false, reason: "timed_out", graphRequests: 0, graphBytes: 0, at: Date.now() };
          const result = await observePage(db, config, request, tokens);
          if (resuming && result.ok) await runStatements(db, [resumeRun(db, runId)]);
          return { ...result, at: Date.now() };
        });
        if (read.ok) paused = false;
        graphRequests += read.graphRequests;
        graphBytes += read.graphBytes;
        if (read.ok && state.phase === "listing") {
          usersRead += read.usersRead;
          mergeObservations(observed, read.observations);
          keepActionable(observed);
          for (const oid of read.joiners ?? []) if (candidates.size < MAX_CANDIDATES) candidates.add(oid);
          for (const oid of read.outsideScope ?? []) outsideDomains.add(oid);
        }
        const move = advance(state, read, startedAt);
        if (move.next === "fail") return await fail(move.reason);
        if (move.next === "conclude") {
          nextDeltaLinkEnc = move.deltaLinkEnc;
          break;
        }
        if (move.next === "pause") {
          // Graph answered 429 (or 503) past the Graph client's Retry-After waits
          // (https://learn.microsoft.com/en-us/graph/throttling). The pause is written on the run row
          // before the sleep, so the Directory sync section, which polls the row, says why the run
          // stands still and when it reads again (views/parts/graphPause.tsx); the run's end clears it.
          const { pauses } = move.state;
          const until = read.at + move.seconds * 1000;
          await steps.do(`record throttled pause ${pauses}`, STEP, async (db) => {
            await runStatements(db, [pauseRun(db, runId, until)]);
            return null;
          });
          paused = true;
          await step.sleep(`throttled pause ${pauses}`, `${move.seconds} seconds`);
        }
        if (move.next === "read" && move.restarted) {
          candidates.clear();
          observed.clear();
          outsideDomains.clear();
          usersRead = 0;
        }
        state = move.state;
      }

      const runMode = state.mode;
      // A delta round's "disabled" or "deleted" is confirmed by a direct read before anyone goes
      // (not in a run that waits behind a held run, nor in one that judges no leavers: nobody goes).
      const toConfirm = runMode === "delta" && !heldRunId && judgesLeavers ? leaversToConfirm(observed) : [];
      if (toConfirm.length > 0) {
        const confirmation = await steps.do(`confirm leavers ${state.restarts}`, STEP, (db) =>
          confirmLeavers(db, config, { organizationId, tenantId, oids: toConfirm }, tokens),
        );
        graphRequests += confirmation.graphRequests;
        graphBytes += confirmation.graphBytes;
        if (!confirmation.ok) return await fail(confirmation.reason);
        applyConfirmations(observed, confirmation.confirmed, scopeSettings ? (upn) => scopeOfName(scopeSettings, upn) : undefined);
      }
      // The scope's groups, read by every run that judges leavers but a real-time one and one waiting behind a held run.
      let groupMembers: Set<string> | null = null;
      if (scopeSettings?.mode === "groups" && trigger !== "realtime" && !heldRunId && judgesLeavers) {
        const groups = await readScopeGroups(steps, STEP, config, { organizationId, tenantId }, scopeSettings, tokens);
        graphRequests += groups.graphRequests;
        groupMembers = groups.members;
      }
      const scope = scopeSettings && judgesLeavers ? { settings: scopeSettings, groupMembers, outsideDomains } : null;
      applyGroupScope(observed, scope);
      const concluded = await steps.do("conclude", STEP, (db) =>
        concludeRun(
          db,
          {
            runId,
            organizationId,
            tenantId,
            trigger,
            mode: runMode,
            usersRead,
            graphRequests,
            observed,
            attempt: state.restarts,
            listingSince: state.listingSince,
            heldRunId,
            deltaLinkEnc: nextDeltaLinkEnc,
            previousLinkEnc: storedLinkEnc,
            scope,
            scopeChange,
            judgesLeavers,
          },
          Date.now(),
        ),
      );
      // Roles follow the groups: the members a group change names get their mapped role again
      // (groupRoles.ts). Its failure fails nothing: the group delta link stays, so the next run
      // reads the same changes.
      const roles =
        trigger === "preview"
          ? null
          : await steps.do("follow group changes", STEP, async (db) =>
              followGroupChanges(
                db,
                config,
                { organizationId, tenantId, runId, trigger },
                await findRoleSettings(db, organizationId),
                tokens,
                Date.now(),
              ),
            );
      // The decided roles are written ROLES_PER_STEP to a step, so no invocation passes Workers'
      // 1,000 D1 queries however many roles a run changes (`?? []`: a result checkpointed before).
      const toApply = roles?.ok ? (roles.toApply ?? []) : [];
      for (let from = 0; from < toApply.length; from += ROLES_PER_STEP) {
        const last = from + ROLES_PER_STEP >= toApply.length;
        await steps.do(`apply group roles ${from / ROLES_PER_STEP}`, STEP, (db) =>
          applyGroupRoles(
            db,
            { organizationId, tenantId, runId },
            toApply.slice(from, from + ROLES_PER_STEP),
            last && roles?.ok ? roles.deltaLinkEnc : null,
            Date.now(),
          ),
        );
      }
      if (roles) {
        graphRequests += roles.graphRequests;
        graphBytes += roles.graphBytes;
      }
      // Mapping edits apply to everyone: after the group changes, so a run's last word is the new mapping (remapSteps.ts).
      const remap = remapsAfterEdits(trigger)
        ? await followMappingEdits(steps, STEP, config, { organizationId, tenantId, runId }, tokens)
        : null;
      if (remap) {
        graphRequests += remap.graphRequests;
        graphBytes += remap.graphBytes;
      }
      // Joiners: only after a run that changed members as it should (not held, not failed).
      if (concluded.status === "succeeded" && candidates.size > 0) {
        const joined = await addNewPeopleOfRun(
          steps,
          STEP,
          config,
          { organizationId, tenantId, runId, candidates: [...candidates] },
          tokens,
        );
        graphRequests += joined.graphRequests;
        graphBytes += joined.graphBytes;
      }
      await relayEvents("relay events");
      return {
        rolesChanged: (roles?.ok ? roles.changed : 0) + (remap?.ran && remap.ok ? remap.changed : 0),
        status: concluded.status,
        mode,
        usersRead,
        graphRequests,
        graphBytes,
        deactivated: concluded.deactivated,
        reactivated: concluded.reactivated,
        error: null,
        d1: steps.total,
        maxD1StatementsPerStep: Math.max(0, ...steps.steps.map((s) => s.d1.statements)),
      };
    } catch (error) {
      // Anything unexpected still closes the run as failed, so the page never shows it running forever.
      console.error("directory sync run failed", error instanceof Error ? error.name : typeof error);
      return await fail("internal");
    }
  }
}
