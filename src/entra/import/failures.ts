// Why an import's read stopped, in the import row's closed set (db/schema.ts IMPORT_FAILURE_CODES):
// the page reads (pages.ts) and the next-run preview's mapped-group reads (nextRunSteps.ts) meet the
// sync's failures and say them the same way. A sync failure the import has no words of its own for
// takes the nearest one the Import page explains, never a vaguer "internal" when one fits.
import type { ImportFailure } from "../../db/schema.ts";
import type { SyncFailure } from "../sync/failures.ts";

/** An import's failure for a sync failure (or a delta read's lost state, which a page read can meet as a Graph error). */
export function importFailureOfSync(reason: SyncFailure | "sync_state_gone"): ImportFailure {
  switch (reason) {
    case "needs_reconnect":
    case "not_connected":
    case "token_unreadable":
    case "sign_in_unavailable":
    case "graph_unavailable":
    case "throttled":
    case "forbidden":
    case "bad_response":
    case "tenant_changed":
      return reason;
    // The read ran out of time waiting on Microsoft Graph.
    case "timed_out":
      return "graph_unavailable";
    // Graph lost what it was reading from: an answer the read could not go on from.
    case "sync_state_lost":
    case "sync_state_gone":
      return "bad_response";
    // The remap's "turned off" is Group → Role mapping turned off while it read.
    case "turned_off":
      return "mapping_off";
    case "held_run_pending":
    case "internal":
      return "internal";
  }
}
