// Real-time reads hold mass role lowerings across reads (issue 19), as they hold deactivations
// (concludeRun.ts, issue 18). A script that empties a mapped group, or a mapping mistake in Entra,
// arrives as many /groups notifications, and each real-time read sees a slice of a few people: the
// threshold was set for the nightly run, which sees a day of changes at once. So a real-time read
// counts with its own the lowerings real-time reads applied in the same window as deactivations
// (REALTIME_WINDOW_MS: 24 hours; held lists applied by a person are theirs and do not count), and
// the read that would cross the threshold holds its changes. Every real-time read after it, while
// that list waits on a person, adds its role changes to the same list instead of applying them: the
// slices end as one list with Apply and Dismiss, never applied slice by slice past the threshold.
// A member a later read decides to keep at their role leaves the list. Nightly runs and Sync now see
// their changes whole and keep their own threshold check (groupRoles.ts).
import type { Db } from "../../db/client.ts";
import type { RoleSettings, RunRoleChange } from "../../db/groupTracking.ts";
import { dropFromHeldList, findRoleLoweringsAcrossReads, type RoleLoweringsAcrossReads } from "../../db/roleLoweringsAcrossReads.ts";
import type { Write } from "../../db/statements.ts";
import type { SyncTrigger } from "../../db/syncRuns.ts";
import { REALTIME_WINDOW_MS } from "./concludeRun.ts";
import { exceedsHoldThreshold } from "./planDirectoryChanges.ts";

const NONE: RoleLoweringsAcrossReads = { recentlyLowered: 0, heldRunId: null };

/** What earlier real-time reads did that this one must count: nothing for other runs (no D1 read). */
export function roleLoweringsBefore(db: Db, organizationId: string, trigger: SyncTrigger | undefined, now: number) {
  return trigger === "realtime" ? findRoleLoweringsAcrossReads(db, organizationId, now - REALTIME_WINDOW_MS) : Promise.resolve(NONE);
}

export interface RoleHold {
  held: boolean;
  /** The run whose list holds the changes: this run's own, or the list already waiting. */
  listRunId: string;
  /** Members on the waiting list whom this read decided to keep at their role: taken off it. */
  writes: Write[];
}

export function roleHoldOf(
  before: RoleLoweringsAcrossReads,
  run: { organizationId: string; runId: string },
  read: { lowered: number; changes: RunRoleChange[]; unchanged: string[] },
  settings: RoleSettings,
): RoleHold {
  const writes =
    before.heldRunId && read.unchanged.length > 0 ? [dropFromHeldList(run.organizationId, before.heldRunId, read.unchanged)] : [];
  if (before.heldRunId && read.changes.length > 0) return { held: true, listRunId: before.heldRunId, writes };
  const held = exceedsHoldThreshold(read.lowered + before.recentlyLowered, settings.linkedActiveMembers, settings.threshold);
  return { held, listRunId: run.runId, writes };
}
