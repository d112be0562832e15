// The Workflow steps of "mapping edits apply to everyone at the next run" (remap.ts), one bounded
// slice each: plan, read the mapped groups (PAGES_PER_STEP Graph pages a step), count the changes
// (is it a mass lowering?), then hold or apply them in slices, conclude, and clear the scratch.
// Only nightly runs and Sync now do it: a real-time read stays the small read a notification asked
// for (its group changes are followed by groupRoles.ts), and the edit waits for the next full run.
// Every value run() decides on comes from a step result, so a replay takes the same path.
import type { WorkflowStepConfig } from "cloudflare:workers";
import type { SyncTrigger } from "../../db/syncRuns.ts";
import type { Config } from "../../lib/config.ts";
import type { MeteredSteps } from "../../lib/meteredSteps.ts";
import type { TokenCache } from "../graphAccess.ts";
import { exceedsHoldThreshold } from "./planDirectoryChanges.ts";
import { clearRemapScratch, concludeRemap, decideMembers, planRemap, readMappedGroups, type ReadCursor, type RemapRun } from "./remap.ts";
import type { SyncFailure } from "./failures.ts";

export type RemapOutcome =
  | { ran: false; graphRequests: 0; graphBytes: 0 }
  | { ran: true; ok: true; changed: number; held: number; lowered: number; graphRequests: number; graphBytes: number }
  | { ran: true; ok: false; reason: SyncFailure; graphRequests: number; graphBytes: number };

/** Which runs re-decide everyone after a mapping edit. */
export function remapsAfterEdits(trigger: SyncTrigger): boolean {
  return trigger === "schedule" || trigger === "sync_now";
}

export async function followMappingEdits(
  steps: MeteredSteps,
  config: WorkflowStepConfig,
  appConfig: Config,
  run: RemapRun,
  tokens: TokenCache,
): Promise<RemapOutcome> {
  const plan = await steps.do("mapping edits: plan", config, (db) => planRemap(db, run.organizationId));
  if (!plan) return { ran: false, graphRequests: 0, graphBytes: 0 };
  let graphRequests = 0;
  let graphBytes = 0;
  try {
    let cursor: ReadCursor | null = plan.mappings.length > 0 ? { group: 0, link: null } : null;
    for (let n = 0; cursor; n++) {
      const from: ReadCursor = cursor;
      const read = await steps.do(`mapping edits: read groups ${n}`, config, (db) =>
        readMappedGroups(db, appConfig, run, plan, from, tokens),
      );
      graphRequests += read.graphRequests;
      graphBytes += read.graphBytes;
      // A failed read changes nobody: the edit stays pending, so the next run tries again.
      if (!read.ok) return { ran: true, ok: false, reason: read.reason, graphRequests, graphBytes };
      cursor = read.next;
    }
    let lowered = 0;
    let changes = 0;
    let stale = 0;
    for (let n = 0, after: string | null = ""; after !== null; n++) {
      const from: string = after;
      const counted = await steps.do(`mapping edits: count ${n}`, config, (db) => decideMembers(db, run, plan, from, "count", 0));
      lowered += counted.lowered;
      changes += counted.changes;
      stale += counted.stale;
      after = counted.after;
    }
    // A mass lowering is held like the group-change step's, by the same threshold.
    const held = exceedsHoldThreshold(lowered, plan.linkedActiveMembers, plan.threshold);
    let changed = 0;
    // A pass that changes no role still writes the "Why this role" of kept roles whose reason changed.
    if (changes > 0 || (!held && stale > 0)) {
      for (let n = 0, after: string | null = ""; after !== null; n++) {
        const from: string = after;
        const done = await steps.do(`mapping edits: ${held ? "hold" : "apply"} ${n}`, config, (db) =>
          decideMembers(db, run, plan, from, held ? "hold" : "apply", Date.now()),
        );
        changed += done.changes;
        after = done.after;
      }
    }
    await steps.do("mapping edits: conclude", config, async (db) => concludeRemap(db, run, plan, { held, changes, lowered }, Date.now()));
    return held
      ? { ran: true, ok: true, changed: 0, held: changed, lowered, graphRequests, graphBytes }
      : { ran: true, ok: true, changed, held: 0, lowered, graphRequests, graphBytes };
  } finally {
    for (let n = 0, cleared = false; !cleared; n++) {
      cleared = await steps.do(`mapping edits: clear ${n}`, config, (db) => clearRemapScratch(db, run.runId));
    }
  }
}
