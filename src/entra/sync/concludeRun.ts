// The last step of a run that read the whole directory: find the absent, plan, then apply, hold
// or (for a preview) only record what would change. Idempotent, as a retried step must be.
import type { Db } from "../../db/client.ts";
import { runStatements } from "../../db/statements.ts";
import { countDeactivatedByRun, countLinkedActiveMembers, listLinkedActiveMembers } from "../../db/syncMembers.ts";
import { findRun, findSyncSettings, insertRunChanges, type FinishedStatus, type SyncMode, type SyncTrigger } from "../../db/syncRuns.ts";
import { applyDirectoryChanges, chunks } from "./applyDirectoryChanges.ts";
import type { SyncFailure } from "./failures.ts";
import { exceedsHoldThreshold, planDirectoryChanges, type DirectoryChanges, type Observed } from "./planDirectoryChanges.ts";
import { recordRunOutcome } from "./recordRun.ts";

/** Linked members read per statement when looking for the absent. */
const MEMBER_PAGE = 5000;

interface ConcludeRequest {
  runId: string;
  organizationId: string;
  tenantId: string;
  trigger: SyncTrigger;
  mode: SyncMode;
  usersRead: number;
  graphRequests: number;
  observed: ReadonlyMap<string, Observed>;
  deltaLinkEnc: string | null;
  /** The stored delta link the run started from: the new one replaces only that one. */
  previousLinkEnc: string | null;
}

interface ConcludeResult {
  status: FinishedStatus;
  deactivated: number;
  reactivated: number;
  wouldDeactivate: number;
}

export async function concludeRun(db: Db, request: ConcludeRequest, now: number): Promise<ConcludeResult> {
  const { runId, organizationId, tenantId, trigger } = request;
  const base = { organizationId, runId, trigger, mode: request.mode, usersRead: request.usersRead, graphRequests: request.graphRequests, now };

  const [settings, run] = await Promise.all([findSyncSettings(db, organizationId), findRun(db, organizationId, runId)]);
  const stopped: SyncFailure | null =
    !run ? "internal"
    : !settings || settings.status !== "connected" ? "not_connected"
    : settings.tenantId !== tenantId ? "tenant_changed"
    : trigger !== "preview" && !settings.autoDeprovision ? "turned_off"
    : null;
  if (stopped || !settings || !run) {
    await recordRunOutcome(db, { ...base, status: "failed", deactivated: 0, reactivated: 0, error: stopped, pending: null, deltaLink: null });
    return { status: "failed", deactivated: 0, reactivated: 0, wouldDeactivate: 0 };
  }

  const threshold = { percent: settings.holdThresholdPercent, minimum: settings.holdThresholdMinimum };
  let linkedActive: number | null = null;
  const absent: string[] = [];
  if (request.mode === "full") {
    // Only a complete full listing proves absence, and only of members linked before it began:
    // the run was recorded before its first Graph request, so its start time is early enough.
    linkedActive = 0;
    for (let after = ""; ; ) {
      const page = await listLinkedActiveMembers(db, { organizationId, tenantId, afterUserId: after, limit: MEMBER_PAGE, listedSince: run.startedAt });
      linkedActive += page.length;
      for (const { user_id, settled } of page) if (settled && !request.observed.has(user_id)) absent.push(user_id);
      const last = page.at(-1);
      if (!last || page.length < MEMBER_PAGE) break;
      after = last.user_id;
    }
  }
  const changes = planDirectoryChanges(request.observed, absent);
  // A delta run counts the linked members only when it could be held (or for a preview's
  // summary): a quiet night then reads a few rows, not the whole organization.
  if (linkedActive === null && (trigger === "preview" || changes.deactivate.length > threshold.minimum)) {
    linkedActive = await countLinkedActiveMembers(db, organizationId, tenantId);
  }
  const held = trigger !== "preview" && linkedActive !== null && exceedsHoldThreshold(changes.deactivate.length, linkedActive, threshold);
  // A held run still moves the delta link on, so the next run does not hold the same changes
  // again; Dismiss, or a later run superseding the held one, forgets the link (a full read next).
  const deltaLink =
    trigger !== "preview" && request.deltaLinkEnc ? { tenantId, enc: request.deltaLinkEnc, replaces: request.previousLinkEnc } : null;
  const pending = {
    linkedMembers: linkedActive ?? 0, deactivate: changes.deactivate.length, reactivate: changes.reactivate.length, tenantId,
  };

  if (trigger === "preview" || held) {
    await saveChangeList(db, runId, organizationId, changes);
    const status = held ? "held" : "previewed";
    await recordRunOutcome(db, { ...base, status, deactivated: 0, reactivated: 0, error: null, pending, deltaLink });
    return { status, deactivated: 0, reactivated: 0, wouldDeactivate: changes.deactivate.length };
  }

  const { reactivated } = await applyDirectoryChanges(db, { organizationId, runId, now }, changes);
  const deactivated = await countDeactivatedByRun(db, organizationId, runId);
  await recordRunOutcome(db, { ...base, status: "succeeded", deactivated, reactivated, error: null, pending: null, deltaLink });
  return { status: "succeeded", deactivated, reactivated, wouldDeactivate: changes.deactivate.length };
}

async function saveChangeList(db: Db, runId: string, organizationId: string, changes: DirectoryChanges) {
  const statements = [
    ...chunks(changes.deactivate).map((chunk) => insertRunChanges(db, { runId, organizationId, change: "deactivate" }, chunk)),
    ...chunks(changes.reactivate).map((chunk) => insertRunChanges(db, { runId, organizationId, change: "reactivate" }, chunk)),
  ];
  // D1 batches are transactions; a few chunks per round trip keeps each one short.
  for (const group of chunks(statements, 10)) await runStatements(db, group);
}
