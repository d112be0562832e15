// A full run's verdict on every linked member, against who its pages saw (seenSet.ts): members
// are read in pages of the covering index and only the changes are kept, in a ChangeList (in
// memory while short, else in sync_run_changes) or, for a run that only counts, a ChangeCount.
import type { Db } from "../../db/client.ts";
import type { SyncCause } from "../../db/schema.ts";
import { runStatements } from "../../db/statements.ts";
import { listMembersToJudge, standingOf } from "../../db/syncMembers.ts";
import { insertRunChanges } from "../../db/syncRuns.ts";
import { countSeenHashes, listSeenPages } from "../../db/syncSeen.ts";
import { chunks } from "./applyDirectoryChanges.ts";
import { changeFor, type DirectoryChanges } from "./planDirectoryChanges.ts";
import { combinedState, SeenSet } from "./seenSet.ts";
import { listedScopeOf, type RunScope } from "./runScope.ts";

/** Linked members read per statement when judging a full listing. */
const MEMBER_PAGE = 5000;
/** Stored pages of hashes read per statement (about 11 KB each). */
const SEEN_PAGES = 100;

/** Where a run's changes go, one at a time. */
export interface ChangeSink {
  deactivations: number;
  reactivations: number;
  add(change: "deactivate" | "reactivate", entry: [string, SyncCause]): Promise<void>;
}

interface Listing {
  runId: string;
  organizationId: string;
  tenantId: string;
  /** The listing attempt (its restarts): which stored pages are its. */
  attempt: number;
  usersRead: number;
  /** Only members linked before then are judged (readLoop.ts `listingSince`). */
  listedSince: number;
  /** The held run this run waits behind, if any: its people are counted, never changed. */
  heldRunId: string | null;
  /** What the run knows of the sync scope (runScope.ts): its leavers and returners join the list. */
  scope?: RunScope | null;
}

/**
 * Judges every linked member against the stored pages of the listing; returns how many linked
 * members are active and how many people on the held run's list the listing did not find enabled
 * again, or null when pages are missing (nobody is judged on part of a listing).
 * Only a complete full listing proves absence, and only of members linked before it began
 * listing: every page was read after they were linked. That moment is when the tracking step
 * ended, not when the run was recorded: a real-time read waits 2 seconds and clears the re-read
 * mark before it takes its starting point, and a member who joined and left in between was
 * neither judged here nor in the delta from that starting point (issue 18). A member linked later
 * is read by the delta from the tracking link (src/entra/realtime/reread.ts, the invariant).
 */
export async function judgeListing(
  db: Db,
  listing: Listing,
  list: ChangeSink,
): Promise<{ linkedActive: number; stillHeld: number } | null> {
  const { runId, attempt, organizationId, tenantId, listedSince, heldRunId } = listing;
  const seen = new SeenSet(await countSeenHashes(db, runId, attempt));
  for (let after = 0; ; ) {
    const pages = await listSeenPages(db, { runId, attempt, afterPage: after, limit: SEEN_PAGES });
    for (const page of pages) seen.addPage(page.hashes);
    const last = pages.at(-1);
    if (!last || pages.length < SEEN_PAGES) break;
    after = last.page;
  }
  if (seen.count < listing.usersRead) return null;
  seen.seal();

  let linkedActive = 0;
  let stillHeld = 0;
  for (let after = ""; ; ) {
    const members = await listMembersToJudge(db, {
      organizationId,
      tenantId,
      afterUserId: after,
      limit: MEMBER_PAGE,
      listedSince,
      heldRunId,
    });
    for (const member of members) {
      const standing = standingOf(member);
      if (member.status === "active") linkedActive++;
      const oids = member.oids.split(" ");
      const state = member.settled ? combinedState(oids.map((oid) => seen.stateOf(oid))) : "unknown";
      const inScope = listedScopeOf(listing.scope ?? null, oids, state === "enabled" || state === "disabled");
      // Someone on the held run's list stays on it unless the listing found them back: enabled
      // again, or in the scope again for one listed as having left it.
      if (standing === "held" && (state !== "enabled" || inScope === false)) stillHeld++;
      if (standing === "held_scope" && (inScope !== true || state !== "enabled")) stillHeld++;
      if (state === "unknown") continue;
      const change = changeFor(standing, state, inScope);
      if (change) await list.add(change[0], [member.user_id, change[1]]);
    }
    const last = members.at(-1);
    if (!last || members.length < MEMBER_PAGE) break;
    after = last.user_id;
  }
  return { linkedActive, stillHeld };
}

/** Counts changes and keeps none: a run that waits behind a held run changes nobody. */
export class ChangeCount implements ChangeSink {
  deactivations = 0;
  reactivations = 0;

  async add(change: "deactivate" | "reactivate") {
    if (change === "deactivate") this.deactivations++;
    else this.reactivations++;
  }
}

/**
 * The run's changes: in memory while they are few; past `inMemoryUpTo` (0 for a preview, whose
 * list is always saved) they go to sync_run_changes 2,000 at a time, and are applied from there.
 */
export class ChangeList implements ChangeSink {
  private buffered: DirectoryChanges = { deactivate: [], reactivate: [] };
  deactivations = 0;
  reactivations = 0;
  saved = false;

  constructor(
    private readonly db: Db,
    private readonly runId: string,
    private readonly organizationId: string,
    private readonly inMemoryUpTo: number,
  ) {}

  async add(change: "deactivate" | "reactivate", entry: [string, SyncCause]) {
    this.buffered[change].push(entry);
    if (change === "deactivate") this.deactivations++;
    else this.reactivations++;
    const size = this.buffered.deactivate.length + this.buffered.reactivate.length;
    // Once saving, every 2,000 entries are one statement (chunks' size): a list of 900,000 is 450
    // inserts, not 900 (a chunk of 2,000 and one of 1), within an invocation's 1,000 queries.
    if (this.saved ? size >= 2000 : size > this.inMemoryUpTo) await this.save();
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
