// What a run would change, decided only from a complete read. Pure functions: no I/O.
import type { SyncCause } from "../../db/schema.ts";
import type { AccountState } from "./directoryPage.ts";
import type { Observation } from "./observePage.ts";
import type { MemberStanding } from "../../db/syncMembers.ts";

export interface DirectoryChanges {
  deactivate: [string, SyncCause][];
  reactivate: [string, SyncCause][];
}

/** What the run has read about one linked member. */
export interface Observed {
  state: AccountState;
  standing: MemberStanding;
  oid: string;
}

/**
 * Folds page observations into one entry per member, the last occurrence in the round winning.
 * A delta round may list a user more than once, in no promised order
 * (https://learn.microsoft.com/graph/delta-query-overview): so a delta run confirms each leaver
 * with a direct read before deactivating (confirmLeavers.ts).
 */
export function mergeObservations(into: Map<string, Observed>, page: Observation[]) {
  for (const [userId, state, standing, oid] of page) {
    const earlier = into.get(userId);
    // "unchanged" (a delta entry without accountEnabled) does not undo what an earlier page said.
    into.set(userId, { state: state === "unchanged" && earlier ? earlier.state : state, standing, oid });
  }
}

/**
 * What a run would do with one member, given what the directory says: nothing, or a change. A
 * member on a held run's list ("held") is that run's to decide (Apply or Dismiss), never a later one's.
 */
export function changeFor(standing: MemberStanding, state: AccountState | "absent"): ["deactivate" | "reactivate", SyncCause] | null {
  if (standing === "active" && (state === "disabled" || state === "deleted" || state === "absent")) return ["deactivate", state];
  if (standing === "sync" && state === "enabled") return ["reactivate", "enabled"];
  return null;
}

/**
 * Forgets the members that need nothing, so a delta run holds only what may change. The same as
 * keeping them: a later entry replaces a forgotten one, and "unchanged" after a forgotten entry
 * needs nothing either. Members on the held run's list are kept: whether the read ends with them
 * enabled again decides whether that run is still held (enabledAgain).
 */
export function keepActionable(observed: Map<string, Observed>) {
  for (const [userId, { standing, state }] of observed) if (standing !== "held" && !changeFor(standing, state)) observed.delete(userId);
}

/** Members on the held run's list whom this read found enabled again in Entra ID. */
export function enabledAgain(observed: ReadonlyMap<string, Observed>): string[] {
  return [...observed].filter(([, { standing, state }]) => standing === "held" && state === "enabled").map(([userId]) => userId);
}

/** Active members a delta round says are disabled or deleted: the ones to confirm. */
export function leaversToConfirm(observed: ReadonlyMap<string, Observed>): string[] {
  const oids: string[] = [];
  for (const { state, standing, oid } of observed.values()) {
    if (standing === "active" && (state === "disabled" || state === "deleted")) oids.push(oid);
  }
  return oids;
}

/** The directory's confirmed word replaces what the round said, for those members only. */
export function applyConfirmations(observed: Map<string, Observed>, confirmed: readonly [string, AccountState][]) {
  const stateOf = new Map(confirmed);
  for (const entry of observed.values()) {
    const state = stateOf.get(entry.oid);
    if (state) entry.state = state;
  }
}

/**
 * Leavers: active members whose account is disabled, deleted, or (after a complete full listing)
 * absent. Returners: members that sync deactivated whose account is enabled again. Members
 * deactivated by hand are never in either list.
 */
export function planDirectoryChanges(observed: ReadonlyMap<string, Observed>, absentActiveMembers: readonly string[]): DirectoryChanges {
  const changes: DirectoryChanges = { deactivate: [], reactivate: [] };
  for (const [userId, { state, standing }] of observed) {
    const change = changeFor(standing, state);
    if (change) changes[change[0]].push([userId, change[1]]);
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
