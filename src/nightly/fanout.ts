// The nightly fan-out, one page at a time: the next organizations by id get tonight's run rows in
// one D1 batch, and their Workflow instances are created with one `createBatch` call. A page costs
// one D1 round trip and one Workflow call however many organizations it holds, so no invocation
// nears the Workers limits (1,000 D1 queries and 10,000 subrequests per invocation on the paid
// plan: https://developers.cloudflare.com/workers/platform/limits/ and
// https://developers.cloudflare.com/d1/platform/limits/), and the cursor (the last organization id)
// lets a failed night resume where it stopped.
import type { Db } from "../db/client.ts";
import { runStatements } from "../db/statements.ts";
import { nightlyPageStatements, type NightlyPageRow } from "../db/syncRuns.ts";
import type { SyncWorkflow } from "../entra/sync/launch.ts";
import { failedRunOutcome, recordRunOutcome } from "../entra/sync/recordRun.ts";
import { nightlyRunIdParts } from "../entra/sync/schedule.ts";

/**
 * Organizations per page: `createBatch` takes at most 100 instances per call
 * (https://developers.cloudflare.com/changelog/post/2026-10-08-create-batch-object-form/).
 */
export const FANOUT_PAGE_SIZE = 100;

/** The slowest pace the spreading uses: a small fleet starts one run a second, not over the whole window. */
const MAX_START_SPACING_MS = 1000;

/**
 * How far apart tonight's runs start: the window shared out among the organizations, but never
 * slower than one a second. 10,000 organizations over 2 hours start 0.72 s apart, 50 start within
 * 50 s. Their Graph reads and D1 writes then do not all land in the same second.
 */
export function startSpacingMs(organizations: number, windowMs: number): number {
  if (organizations <= 1 || windowMs <= 0) return 0;
  return Math.min(MAX_START_SPACING_MS, Math.floor(windowMs / organizations));
}

interface FanoutPage {
  /** The cursor for the next page: the last organization id of this one (null: the page was empty). */
  last: string | null;
  organizations: number;
  started: number;
  /** Instances that already existed (a retried page): counted, not created twice. */
  alreadyStarted: number;
  skipped: number;
  failed: number;
  /** Calls to the Workflows service (the step counts its D1 work itself). */
  workflowCalls: number;
}

/** Workflows says "already exists" for an id it has seen: that instance was created by an earlier attempt. */
function isAlreadyCreated(error: { message: string }): boolean {
  return /already exist/i.test(error.message);
}

export async function dispatchNightlyPage(
  db: Db,
  workflow: SyncWorkflow,
  page: { after: string; scheduledTime: number; position: number; startAt: number; spacingMs: number; now: number },
): Promise<FanoutPage> {
  const { prefix, suffix } = nightlyRunIdParts(page.scheduledTime);
  const statements = nightlyPageStatements(db, {
    after: page.after,
    limit: FANOUT_PAGE_SIZE,
    idPrefix: prefix,
    idSuffix: suffix,
    now: page.now,
  });
  const results = await runStatements(db, statements);
  const rows = (results.at(-1)?.results ?? []) as NightlyPageRow[];
  const result: FanoutPage = {
    last: rows.at(-1)?.organization_id ?? null,
    organizations: rows.length,
    started: 0,
    alreadyStarted: 0,
    skipped: rows.filter((row) => row.status === "skipped").length,
    failed: 0,
    workflowCalls: 0,
  };
  // Every run of this page still "running" needs its instance: on a retried page, the ones created
  // before the failure are refused as existing, and the others are created now.
  const toStart = rows
    .map((row, index) => ({ row, notBefore: page.startAt + (page.position + index) * page.spacingMs }))
    .filter(({ row }) => row.status === "running");
  if (toStart.length === 0) return result;
  const { created, errors } = await workflow.createBatch({
    instances: toStart.map(({ row, notBefore }) => ({
      id: row.run_id,
      params: { runId: row.run_id, organizationId: row.organization_id, trigger: "schedule" as const, notBefore },
    })),
  });
  result.workflowCalls = 1;
  result.started = created.length;
  for (const error of errors) {
    if (isAlreadyCreated(error)) {
      result.alreadyStarted++;
      continue;
    }
    const entry = toStart[error.index];
    if (!entry) continue;
    // The Workflows service refused this one: close its row so nothing waits on it.
    console.error("nightly sync run could not start", error.code, error.message.slice(0, 200));
    await recordRunOutcome(
      db,
      failedRunOutcome({ organizationId: entry.row.organization_id, runId: entry.row.run_id, trigger: "schedule", now: page.now }),
    );
    result.failed++;
  }
  return result;
}
