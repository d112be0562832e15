// How a sync run is named wherever it is shown: the Directory sync section, the home page's
// glance and the alerts banner say it the same way.
import type { SyncRunRow } from "../../src/db/syncRuns.ts";

export const TRIGGER_LABELS: Record<SyncRunRow["trigger"], string> = {
  schedule: "Nightly",
  sync_now: "Sync now",
  preview: "Preview",
  realtime: "Real-time update",
};

export const STATUS_LABELS: Record<SyncRunRow["status"], string> = {
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  held: "Held",
  applied: "Applied",
  dismissed: "Dismissed",
  previewed: "Previewed",
  skipped: "Skipped",
  // A held run a later read found nobody left on (everyone enabled again): nobody dismissed it,
  // and there is nothing left to apply.
  superseded: "Superseded by a later read",
};

/** The first words of a held run's notice: the threshold stopped it before it changed anyone. */
export const HELD_TITLE = "Held: nothing was changed.";

/** Where a held run is applied or dismissed and where "Sync now" is: the Entra page's Directory sync section. */
export const SYNC_SECTION_ANCHOR = "#entra-sync";
