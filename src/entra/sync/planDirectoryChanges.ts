// What a run would change, decided only from a complete read. Pure functions: no I/O.
import type { SyncCause } from "../../db/schema.ts";
import type { DirectoryState } from "./directoryPage.ts";
import type { Observation } from "./observePage.ts";
import type { MemberStanding } from "../../db/syncMembers.ts";

export interface DirectoryChanges {
  deactivate: [string, SyncCause][];
  reactivate: [string, SyncCause][];
}

/**
 * Folds page observations into one entry per member, later pages winning: a delta round lists
 * changes oldest first, so a user disabled and then enabled again ends up enabled.
 */
export function mergeObservations(into: Map<string, { state: DirectoryState; standing: MemberStanding }>, page: Observation[]) {
  for (const [userId, state, standing] of page) {
    const earlier = into.get(userId);
    // "unchanged" (a delta entry without accountEnabled) does not undo what an earlier page said.
    into.set(userId, { state: state === "unchanged" && earlier ? earlier.state : state, standing });
  }
}

/**
 * Leavers: active members whose account is disabled, deleted, or (after a complete full listing)
 * absent. Returners: members that sync deactivated whose account is enabled again. Members
 * deactivated by hand are never in either list.
 */
export function planDirectoryChanges(
  observed: ReadonlyMap<string, { state: DirectoryState; standing: MemberStanding }>,
  absentActiveMembers: readonly string[],
): DirectoryChanges {
  const changes: DirectoryChanges = { deactivate: [], reactivate: [] };
  for (const [userId, { state, standing }] of observed) {
    if (standing === "active" && (state === "disabled" || state === "deleted")) changes.deactivate.push([userId, state]);
    else if (standing === "sync" && state === "enabled") changes.reactivate.push([userId, "enabled"]);
  }
  for (const userId of absentActiveMembers) changes.deactivate.push([userId, "absent"]);
  return changes;
}

interface HoldThreshold {
  percent: number;
  minimum: number;
}

/** A run that would deactivate more than `percent` of the linked members and more than `minimum` is held. */
export function exceedsHoldThreshold(deactivations: number, linkedActiveMembers: number, threshold: HoldThreshold): boolean {
  return deactivations > threshold.minimum && deactivations * 100 > linkedActiveMembers * threshold.percent;
}
