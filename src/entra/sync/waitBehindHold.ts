// A run that began while a held run waited for a person (issue 18): it changes nobody. A held run
// is a person's decision to make, so a later read neither applies its own changes past it (they
// might be the rest of the same mass disable) nor replaces it: only Apply or Dismiss ends it, or
// this read finding nobody left on it to deactivate (everyone enabled again in Entra ID), which
// is why the later run still reads. It ends "skipped" (error "held_run_pending") with what it found
// (the page shows it beside the held run), keeps the delta link where the held run left it, and
// asks for one more read: Apply or Dismiss starts it (src/entra/realtime/reread.ts), and it reads
// everything since the held run again, under the threshold.
import type { Db } from "../../db/client.ts";
import { countStillHeld } from "../../db/syncRuns.ts";
import { ChangeCount, judgeListing } from "./judgeListing.ts";
import { enabledAgain, planDirectoryChanges, type Observed } from "./planDirectoryChanges.ts";
import { recordRunOutcome, type RunRead } from "./recordRun.ts";

interface Waiting extends RunRead {
  /** A delta run's members that may change, and those on the held run's list it saw. */
  observed: ReadonlyMap<string, Observed>;
  /** A full run's listing attempt, and since when its members are judged (judgeListing.ts). */
  attempt: number;
  listedSince: number;
  heldRunId: string;
  /** The connection's linked active members (a delta run's denominator). */
  linkedActive: number;
}

/** Records the run as waiting (or as ending the held run it found nobody left on); null when the listing is incomplete. */
export async function waitBehindHold(
  db: Db,
  request: Waiting,
  now: number,
): Promise<{ status: "skipped"; deactivated: 0; reactivated: 0; wouldDeactivate: number } | null> {
  const { organizationId, runId, tenantId, heldRunId } = request;
  const found = new ChangeCount();
  let linkedActive = request.linkedActive;
  let stillHeld: number;
  if (request.mode === "full") {
    const judged = await judgeListing(db, request, found);
    if (!judged) return null;
    ({ linkedActive, stillHeld } = judged);
  } else {
    // Its leavers are not confirmed (nobody goes): "would deactivate" counts what the delta says.
    const changes = planDirectoryChanges(request.observed, []);
    found.deactivations = changes.deactivate.length;
    found.reactivations = changes.reactivate.length;
    // Everyone on the held list whom this delta did not show enabled is as the held run read them.
    stillHeld = await countStillHeld(db, organizationId, heldRunId, enabledAgain(request.observed));
  }
  await recordRunOutcome(db, {
    organizationId,
    runId,
    trigger: request.trigger,
    status: "skipped",
    mode: request.mode,
    usersRead: request.usersRead,
    deactivated: 0,
    reactivated: 0,
    graphRequests: request.graphRequests,
    error: "held_run_pending",
    pending: { linkedMembers: linkedActive, deactivate: found.deactivations, reactivate: found.reactivations, tenantId },
    deltaLink: null,
    releases: stillHeld === 0 ? heldRunId : null,
    rereadAfter: true,
    now,
  });
  return { status: "skipped", deactivated: 0, reactivated: 0, wouldDeactivate: found.deactivations };
}
