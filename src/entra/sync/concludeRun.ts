// The last step of a run that read the whole directory: judge, then apply, hold or (for a
// preview) only record what would change. Idempotent, as a retried step must be.
// A full run judges every linked member here, against who its pages saw (seenSet.ts): members are
// read in pages of the covering index and only the changes are kept. A delta run judges the few
// members its pages listed. The hold threshold's denominator is the connection's linked-member
// count (kept by triggers, migrations/0009), so a delta run reads rows in proportion to its changes.
import type { Db } from "../../db/client.ts";
import type { SyncCause } from "../../db/schema.ts";
import { runStatements } from "../../db/statements.ts";
import { clearRunChanges, countDeactivatedByRun, listMembersToJudge } from "../../db/syncMembers.ts";
import { findRun, findSyncSettings, insertRunChanges, type FinishedStatus, type SyncMode, type SyncTrigger } from "../../db/syncRuns.ts";
import { countSeenHashes, listSeenPages } from "../../db/syncSeen.ts";
import { applyDirectoryChanges, applySavedChanges, chunks } from "./applyDirectoryChanges.ts";
import type { SyncFailure } from "./failures.ts";
import { changeFor, exceedsHoldThreshold, planDirectoryChanges, type DirectoryChanges, type Observed } from "./planDirectoryChanges.ts";
import { recordRunOutcome } from "./recordRun.ts";
import { combinedState, SeenSet } from "./seenSet.ts";

/** Linked members read per statement when judging a full listing. */
const MEMBER_PAGE = 5000;
/** Stored pages of hashes read per statement (about 11 KB each). */
const SEEN_PAGES = 100;
/**
 * Changes kept in memory before the list goes to sync_run_changes instead (then applied from
 * there, 2,000 at a time): a tenant that vanishes from Graph must not fill the isolate's memory.
 */
const CHANGES_IN_MEMORY = 20_000;

interface ConcludeRequest {
  runId: string;
  organizationId: string;
  tenantId: string;
  trigger: SyncTrigger;
  mode: SyncMode;
  usersRead: number;
  graphRequests: number;
  /** A delta run's members that may change; empty for a full run. */
  observed: ReadonlyMap<string, Observed>;
  /** A full run's listing attempt (its restarts): which stored pages are its. */
  attempt: number;
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
  const failed = async (error: SyncFailure | null): Promise<ConcludeResult> => {
    await recordRunOutcome(db, { ...base, status: "failed", deactivated: 0, reactivated: 0, error, pending: null, deltaLink: null });
    return { status: "failed", deactivated: 0, reactivated: 0, wouldDeactivate: 0 };
  };
  if (stopped || !settings || !run) return failed(stopped);

  const threshold = { percent: settings.holdThresholdPercent, minimum: settings.holdThresholdMinimum };
  // A retried step starts the list again: it may have saved part of it before.
  await runStatements(db, [clearRunChanges(db, runId)]);
  const list = new ChangeList(db, runId, organizationId, trigger === "preview" ? 0 : CHANGES_IN_MEMORY);
  let linkedActive: number;
  if (request.mode === "full") {
    const judged = await judgeListing(db, request, run.startedAt, list);
    if (judged === null) return failed("internal");
    linkedActive = judged;
  } else {
    const changes = planDirectoryChanges(request.observed, []);
    for (const entry of changes.deactivate) await list.add("deactivate", entry);
    for (const entry of changes.reactivate) await list.add("reactivate", entry);
    linkedActive = settings.linkedActiveMembers;
  }
  const held = trigger !== "preview" && exceedsHoldThreshold(list.deactivations, linkedActive, threshold);
  // A held run still moves the delta link on, so the next run does not hold the same changes
  // again; Dismiss, or a later run superseding the held one, forgets the link (a full read next).
  const deltaLink =
    trigger !== "preview" && request.deltaLinkEnc ? { tenantId, enc: request.deltaLinkEnc, replaces: request.previousLinkEnc } : null;
  const pending = { linkedMembers: linkedActive, deactivate: list.deactivations, reactivate: list.reactivations, tenantId };

  if (trigger === "preview" || held) {
    await list.save();
    const status = held ? "held" : "previewed";
    await recordRunOutcome(db, { ...base, status, deactivated: 0, reactivated: 0, error: null, pending, deltaLink });
    return { status, deactivated: 0, reactivated: 0, wouldDeactivate: list.deactivations };
  }

  const target = { organizationId, runId, now };
  // A list that went to sync_run_changes is applied from there, once its last entries are saved too.
  if (list.saved) await list.save();
  const { reactivated } = list.saved ? await applySavedChanges(db, target) : await applyDirectoryChanges(db, target, list.inMemory());
  const deactivated = await countDeactivatedByRun(db, organizationId, runId);
  await recordRunOutcome(db, { ...base, status: "succeeded", deactivated, reactivated, error: null, pending: null, deltaLink });
  return { status: "succeeded", deactivated, reactivated, wouldDeactivate: list.deactivations };
}

/**
 * Judges every linked member against the stored pages of the listing; returns how many linked
 * members are active, or null when pages are missing (nobody is judged on part of a listing).
 * Only a complete full listing proves absence, and only of members linked before it began: the
 * run was recorded before its first Graph request, so its start time is early enough.
 */
async function judgeListing(db: Db, request: ConcludeRequest, listedSince: number, list: ChangeList): Promise<number | null> {
  const { runId, attempt, organizationId, tenantId } = request;
  const seen = new SeenSet(await countSeenHashes(db, runId, attempt));
  for (let after = 0; ; ) {
    const pages = await listSeenPages(db, { runId, attempt, afterPage: after, limit: SEEN_PAGES });
    for (const page of pages) seen.addPage(page.hashes);
    const last = pages.at(-1);
    if (!last || pages.length < SEEN_PAGES) break;
    after = last.page;
  }
  if (seen.count < request.usersRead) return null;
  seen.seal();

  let linkedActive = 0;
  for (let after = ""; ; ) {
    const members = await listMembersToJudge(db, { organizationId, tenantId, afterUserId: after, limit: MEMBER_PAGE, listedSince });
    for (const member of members) {
      const standing = member.status === "active" ? "active" : "sync";
      if (standing === "active") linkedActive++;
      if (!member.settled) continue;
      const state = combinedState(member.oids.split(" ").map((oid) => seen.stateOf(oid)));
      if (state === "unknown") continue;
      const change = changeFor(standing, state);
      if (change) await list.add(change[0], [member.user_id, change[1]]);
    }
    const last = members.at(-1);
    if (!last || members.length < MEMBER_PAGE) break;
    after = last.user_id;
  }
  return linkedActive;
}

/**
 * The run's changes: in memory while they are few; past `inMemoryUpTo` (0 for a preview, whose
 * list is always saved) they go to sync_run_changes 2,000 at a time, and are applied from there.
 */
class ChangeList {
  private buffered: DirectoryChanges = { deactivate: [], reactivate: [] };
  deactivations = 0;
  reactivations = 0;
  saved = false;

  constructor(private readonly db: Db, private readonly runId: string, private readonly organizationId: string, private readonly inMemoryUpTo: number) {}

  async add(change: "deactivate" | "reactivate", entry: [string, SyncCause]) {
    this.buffered[change].push(entry);
    if (change === "deactivate") this.deactivations++;
    else this.reactivations++;
    const size = this.buffered.deactivate.length + this.buffered.reactivate.length;
    if (size > (this.saved ? 2000 : this.inMemoryUpTo)) await this.save();
  }

  inMemory(): DirectoryChanges {
    return this.buffered;
  }

  /** Writes what is buffered; from then on the list lives in D1. */
  async save() {
    const { runId, organizationId } = this;
    const statements = [
      ...chunks(this.buffered.deactivate).map((chunk) => insertRunChanges(this.db, { runId, organizationId, change: "deactivate" }, chunk)),
      ...chunks(this.buffered.reactivate).map((chunk) => insertRunChanges(this.db, { runId, organizationId, change: "reactivate" }, chunk)),
    ];
    // D1 batches are transactions; a few chunks per round trip keeps each one short.
    for (const group of chunks(statements, 10)) await runStatements(this.db, group);
    this.buffered = { deactivate: [], reactivate: [] };
    this.saved = true;
  }
}
