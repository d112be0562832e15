// The run a saved sync scope starts (issue 20, src/entra/scopeChange.ts): a full listing judged
// against the scope just saved, whose leavers ("left the sync scope") and returners go on the run's
// change list with every leaver rule: the hold threshold (a held list with Apply and Dismiss), never
// the last Owner, never someone deactivated by hand, sessions ended, Undo. Saving a scope is an
// Owner's or Admin's own decision after its preview, so it applies with Auto-deprovision sync off
// too; but then only the scope's changes: a disabled or deleted account is still left to
// Auto-deprovision, which is off. This file is that filter.
import type { SyncCause } from "../../db/schema.ts";
import type { ChangeSink } from "./judgeListing.ts";

const SCOPE_CAUSES: readonly SyncCause[] = ["left_scope", "in_scope"];

/** Whether a run applies only the scope's changes: started by a saved scope, with Auto-deprovision off. */
export const onlyScopeChanges = (request: { scopeChange?: boolean }, settings: { autoDeprovision: boolean }) =>
  request.scopeChange === true && !settings.autoDeprovision;

/** The run's change list, taking only the scope's leavers and returners. */
export function scopeCausesOnly(list: ChangeSink): ChangeSink {
  return {
    get deactivations() {
      return list.deactivations;
    },
    get reactivations() {
      return list.reactivations;
    },
    async add(change, entry) {
      if (SCOPE_CAUSES.includes(entry[1])) await list.add(change, entry);
    },
  };
}
