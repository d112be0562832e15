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
  /** Whether the member is in the sync scope, as far as the run can tell (null: it cannot; runScope.ts). */
  inScope?: boolean | null;
}

/**
 * Folds page observations into one entry per member, the last occurrence in the round winning.
 * A delta round may list a user more than once, in no promised order
 * (https://learn.microsoft.com/graph/delta-query-overview): so a delta run confirms each leaver
 * with a direct read before deactivating (confirmLeavers.ts).
 */
export function mergeObservations(into: Map<string, Observed>, page: Observation[]) {
  for (const [userId, state, standing, oid, inScope] of page) {
    const earlier = into.get(userId);
    // "unchanged" (a delta entry without accountEnabled) does not undo what an earlier page said,
    // nor does an entry that says nothing of the scope (no sign-in name).
    into.set(userId, {
      state: state === "unchanged" && earlier ? earlier.state : state,
      standing,
      oid,
      inScope: inScope ?? earlier?.inScope ?? null,
    });
  }
}

/**
 * What a run would do with one member, given what the directory says: nothing, or a change. A
 * member on a held run's list ("held", "held_scope") is that run's to decide (Apply or Dismiss),
 * never a later one's. The account's state comes first: a disabled member outside the scope leaves
 * as disabled. Leaving the scope needs the run to know (`inScope` false), and so does coming back
 * (true, with an account not known to be disabled); null changes nobody for the scope.
 */
export function changeFor(
  standing: MemberStanding,
  state: AccountState | "absent",
  inScope: boolean | null = null,
): ["deactivate" | "reactivate", SyncCause] | null {
  const gone = state === "disabled" || state === "deleted" || state === "absent";
  if (standing === "active") {
    if (gone) return ["deactivate", state];
    if (inScope === false) return ["deactivate", "left_scope"];
  }
  if (standing === "sync" && state === "enabled" && inScope !== false) return ["reactivate", "enabled"];
  if (standing === "left_scope" && inScope === true && !gone) return ["reactivate", "in_scope"];
  return null;
}

/**
 * Forgets the members that need nothing, so a delta run holds only what may change. The same as
 * keeping them: a later entry replaces a forgotten one, and "unchanged" after a forgotten entry
 * needs nothing either. Members on the held run's list are kept: whether the read ends with them
 * enabled again decides whether that run is still held (enabledAgain).
 */
export function keepActionable(observed: Map<string, Observed>) {
  for (const [userId, { standing, state, inScope }] of observed)
    if (standing !== "held" && standing !== "held_scope" && !changeFor(standing, state, inScope)) observed.delete(userId);
}

/**
 * Members on the held run's list whom this read found back: enabled again in Entra ID, or (listed
 * as having left the sync scope) in the scope again.
 */
export function enabledAgain(observed: ReadonlyMap<string, Observed>): string[] {
  return [...observed]
    .filter(([, { standing, state, inScope }]) =>
      standing === "held"
        ? state === "enabled" && inScope !== false
        : standing === "held_scope" && inScope === true && state !== "disabled" && state !== "deleted",
    )
    .map(([userId]) => userId);
}

/**
 * The members a delta round would change on its word alone, to confirm by a direct read: active
 * ones it says are disabled, deleted or outside the scope, and those back in the scope.
 */
export function leaversToConfirm(observed: ReadonlyMap<string, Observed>): string[] {
  const oids: string[] = [];
  for (const { state, standing, oid, inScope } of observed.values()) {
    const change = changeFor(standing, state, inScope);
    if (change && (change[0] === "deactivate" || change[1] === "in_scope")) oids.push(oid);
  }
  return oids;
}

/**
 * The directory's confirmed word replaces what the round said, for those members only: the account's
 * state, and with `scopeOf` the scope as its sign-in name says (runScope.ts).
 */
export function applyConfirmations(
  observed: Map<string, Observed>,
  confirmed: readonly (readonly [string, AccountState, (string | null)?])[],
  scopeOf?: (upn: string | null) => boolean | null,
) {
  const byOid = new Map(confirmed.map(([oid, state, upn]) => [oid, { state, upn }]));
  for (const entry of observed.values()) {
    const read = byOid.get(entry.oid);
    if (!read) continue;
    entry.state = read.state;
    if (scopeOf && typeof read.upn === "string") entry.inScope = scopeOf(read.upn);
  }
}

/**
 * Leavers: active members whose account is disabled, deleted, or (after a complete full listing)
 * absent. Returners: members that sync deactivated whose account is enabled again. Members
 * deactivated by hand are never in either list.
 */
export function planDirectoryChanges(observed: ReadonlyMap<string, Observed>, absentActiveMembers: readonly string[]): DirectoryChanges {
  const changes: DirectoryChanges = { deactivate: [], reactivate: [] };
  for (const [userId, { state, standing, inScope }] of observed) {
    const change = changeFor(standing, state, inScope);
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
