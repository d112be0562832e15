// The night as a Workflow: one instance per cron event (scheduled() creates it with an id derived
// from the event's time, so a repeated event starts no second), which starts every eligible
// organization's sync run a page at a time (fanout.ts), then prunes old rows. Each page is a step:
// its result (the cursor) is checkpointed, so a night that fails halfway resumes after the last
// page done, and no single invocation does more than one page's work. run() is replayed after a
// restart: everything it decides on (cursor, time, spacing) comes from step results or the event.
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep, type WorkflowStepConfig } from "cloudflare:workers";
import { PRUNE_BATCH_ROWS, PRUNE_TASKS, pruneBatch } from "./pruning.ts";
import { relayAfterCommit } from "../events/afterCommit.ts";
import { countOrganizationsToSync, type NightlyParams } from "../db/syncRuns.ts";
import type { Env } from "../env.ts";
import { loadConfig } from "../lib/config.ts";
import { meteredSteps, type StepCost as StepD1 } from "../lib/meteredSteps.ts";
import { FANOUT_PAGE_SIZE, dispatchNightlyPage, startSpacingMs } from "./fanout.ts";
import { upkeepRealtimePage } from "../entra/realtime/upkeep.ts";

/** What one step cost: its D1 work, and every call that left the Worker (D1 calls and Workflow calls). */
interface StepCost {
  step: string;
  d1Statements: number;
  subrequests: number;
}

/** What the night did (the benchmark and tests read it). */
export interface NightlyOutput {
  organizations: number;
  started: number;
  alreadyStarted: number;
  skipped: number;
  failed: number;
  pages: number;
  pruned: Record<string, number>;
  /**
   * Real-time updates' upkeep: subscriptions renewed, created (again), removed, and failures, and
   * its heaviest step. Kept apart from maxStep: an upkeep step makes a few Graph and D1 calls per
   * organization of its page (25), where a fan-out step's cost is fixed.
   */
  realtime: { renewed: number; created: number; removed: number; failed: number; maxStepD1Statements: number };
  /** The most any one step (one invocation) cost, and the whole night's total. */
  maxStep: StepCost;
  total: { d1Statements: number; subrequests: number };
}

// A page step retried after a crash redoes nothing twice (fanout.ts); a Workflows or D1 outage
// gets a few minutes of retries before the night gives up.
const STEP: WorkflowStepConfig = { retries: { limit: 5, delay: "10 seconds", backoff: "exponential" }, timeout: "5 minutes" };

/**
 * Batches per prune step and steps per table: at most 10 D1 queries per step, and up to
 * 1,000,000 rows per table per night; what is left goes the next night. Steps stay few (Workflows
 * allows 10,000 per instance by default: https://developers.cloudflare.com/workflows/reference/limits/).
 */
const PRUNE_BATCHES_PER_STEP = 10;
/** Graph calls are not idempotent enough to redo blindly: a failed upkeep step is retried once; the next night tries again. */
const UPKEEP_STEP: WorkflowStepConfig = { retries: { limit: 1, delay: "30 seconds", backoff: "constant" }, timeout: "5 minutes" };
/** 25 organizations a step: 400 steps is 10,000 organizations a night. */
const MAX_UPKEEP_STEPS = 400;
const PRUNE_STEPS_PER_TASK = 20;

const UPKEEP_STEP_PREFIX = "real-time updates";

/**
 * The night's cost from its steps' counts (src/lib/meteredSteps.ts): the total, the heaviest
 * fan-out, pruning or relay step (a step's subrequests are its D1 calls plus the Workflow calls it
 * made), and apart from those the heaviest real-time updates' upkeep step, whose cost grows with
 * its page of organizations where a fan-out step's is fixed.
 */
function nightCost(steps: readonly StepD1[], workflowCalls: ReadonlyMap<string, number>) {
  const total = { d1Statements: 0, subrequests: 0 };
  let maxStep = { step: "", d1Statements: 0, subrequests: 0 };
  let maxUpkeepD1Statements = 0;
  for (const { step, d1 } of steps) {
    const spent = { step, d1Statements: d1.statements, subrequests: d1.roundTrips + (workflowCalls.get(step) ?? 0) };
    total.d1Statements += spent.d1Statements;
    total.subrequests += spent.subrequests;
    if (step.startsWith(UPKEEP_STEP_PREFIX)) {
      maxUpkeepD1Statements = Math.max(maxUpkeepD1Statements, spent.d1Statements);
    } else if (spent.d1Statements > maxStep.d1Statements || spent.subrequests > maxStep.subrequests) {
      maxStep = {
        step,
        d1Statements: Math.max(spent.d1Statements, maxStep.d1Statements),
        subrequests: Math.max(spent.subrequests, maxStep.subrequests),
      };
    }
  }
  return { total, maxStep, maxUpkeepD1Statements };
}

export class NightlyWorkflow extends WorkflowEntrypoint<Env, NightlyParams> {
  async run(event: Readonly<WorkflowEvent<NightlyParams>>, step: WorkflowStep): Promise<NightlyOutput> {
    const { scheduledTime } = event.payload;
    const env = this.env;
    const config = loadConfig(env);
    const output: NightlyOutput = {
      organizations: 0,
      started: 0,
      alreadyStarted: 0,
      skipped: 0,
      failed: 0,
      pages: 0,
      pruned: {},
      realtime: { renewed: 0, created: 0, removed: 0, failed: 0, maxStepD1Statements: 0 },
      maxStep: { step: "", d1Statements: 0, subrequests: 0 },
      total: { d1Statements: 0, subrequests: 0 },
    };
    // Every step is counted at its boundary; nightCost() reads the counts at the end.
    const steps = meteredSteps(step, env.DB);
    const workflowCalls = new Map<string, number>();

    // How many runs tonight and from when: the spacing spreads them over the configured window.
    const plan = await steps.do("plan the night", STEP, async (db) => ({
      organizations: await countOrganizationsToSync(db),
      at: Date.now(),
    }));
    const spacingMs = startSpacingMs(plan.organizations, config.SYNC_START_WINDOW_MINUTES * 60_000);

    let cursor = "";
    for (let page = 0; ; page++) {
      const name = `page ${page}`;
      const done = await steps.do(name, STEP, (db) =>
        dispatchNightlyPage(db, env.SYNC_WORKFLOW, {
          after: cursor,
          scheduledTime,
          position: page * FANOUT_PAGE_SIZE,
          startAt: plan.at,
          spacingMs,
          now: Date.now(),
        }),
      );
      workflowCalls.set(name, done.workflowCalls);
      output.pages++;
      output.organizations += done.organizations;
      output.started += done.started;
      output.alreadyStarted += done.alreadyStarted;
      output.skipped += done.skipped;
      output.failed += done.failed;
      if (done.last === null || done.organizations < FANOUT_PAGE_SIZE) break;
      cursor = done.last;
    }

    // Real-time updates are renewed here, after the night's runs started: a failure only shows on
    // the page, and the runs above never wait for it. A page of organizations per step.
    let upkeepAfter = "";
    for (let page = 0; page < MAX_UPKEEP_STEPS; page++) {
      const upkeep = await steps.do(`${UPKEEP_STEP_PREFIX} ${page}`, UPKEEP_STEP, (db) =>
        upkeepRealtimePage(db, config, upkeepAfter, Date.now()),
      );
      output.realtime.renewed += upkeep.renewed;
      output.realtime.created += upkeep.created;
      output.realtime.removed += upkeep.removed;
      output.realtime.failed += upkeep.failed;
      if (upkeep.last === null) break;
      upkeepAfter = upkeep.last;
    }

    for (const task of PRUNE_TASKS) {
      output.pruned[task] = 0;
      for (let round = 0; round < PRUNE_STEPS_PER_TASK; round++) {
        const name = `prune ${task} ${round}`;
        const pruned = await steps.do(name, STEP, async (db) => {
          const now = Date.now();
          let rows = 0;
          for (let batch = 0; batch < PRUNE_BATCHES_PER_STEP; batch++) {
            const deleted = await pruneBatch(db, task, now, { auditDays: config.AUDIT_RETENTION_DAYS });
            rows += deleted;
            if (deleted < PRUNE_BATCH_ROWS) return { rows, more: false };
          }
          return { rows, more: true };
        });
        output.pruned[task] += pruned.rows;
        if (!pruned.more) break;
      }
    }
    // The safety net of the webhook outbox: events raised at sign-in (a GET, which relays nothing)
    // or left pending by an interrupted relay go on the queue at least once a night.
    await steps.do(
      "relay webhook events",
      STEP,
      async (db) => (await relayAfterCommit(env.WEBHOOK_DELIVERIES, { here: { db, now: Date.now() } }))?.events ?? 0,
    );
    const cost = nightCost(steps.steps, workflowCalls);
    output.total = cost.total;
    output.maxStep = cost.maxStep;
    output.realtime.maxStepD1Statements = cost.maxUpkeepD1Statements;
    return output;
  }
}
