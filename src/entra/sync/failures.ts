// Why a run failed: a closed set (db/schema.ts SYNC_FAILURE_CODES) stored in sync_runs.error and
// shown on the page in these words. Every failure means the same thing to the customer: nothing
// was changed.
import type { SyncFailure } from "../../db/schema.ts";
import { GraphError } from "../graph.ts";
import { ConnectionTokenError } from "../tokens.ts";

export const SYNC_FAILURES = {
  needs_reconnect: "The connection needs to be reconnected: Microsoft no longer accepts its grant. Click Connect Entra ID again.",
  not_connected: "Microsoft Entra ID is not connected.",
  token_unreadable: "The stored connection could not be read. Disconnect and connect Entra ID again.",
  sign_in_unavailable: "Microsoft's sign-in service did not answer.",
  graph_unavailable: "Microsoft Graph did not answer a page of users after several retries.",
  throttled: "Microsoft Graph kept throttling the sync until its time ran out.",
  timed_out: "The sync ran out of time before it had read the whole directory.",
  forbidden: "Microsoft Graph refused to list users: the User.Read.All permission is missing.",
  bad_response: "Microsoft Graph answered with something unexpected.",
  sync_state_lost: "Microsoft Graph lost the directory's sync state again during a full read.",
  tenant_changed: "The Entra ID connection changed during the run.",
  turned_off: "Auto-deprovision sync was turned off during the run.",
  internal: "The sync stopped unexpectedly.",
} as const satisfies Record<SyncFailure, string>;

export type { SyncFailure };

/** Maps what a page read threw to a reason; `sync_state_gone` is handled by the caller. */
export function syncFailureOf(error: unknown): SyncFailure | "sync_state_gone" | null {
  if (error instanceof ConnectionTokenError) {
    switch (error.kind) {
      case "needs_reconnect":
        return "needs_reconnect";
      case "not_connected":
        return "not_connected";
      case "unreadable":
        return "token_unreadable";
      case "provider_unavailable":
        return "sign_in_unavailable";
    }
  }
  if (error instanceof GraphError) {
    switch (error.kind) {
      case "sync_state_gone":
        return "sync_state_gone";
      case "throttled":
        return "throttled";
      case "unavailable":
        return "graph_unavailable";
      case "forbidden":
        return "forbidden";
      case "unauthorized":
        return "needs_reconnect";
      case "not_found":
      case "bad_response":
        return "bad_response";
    }
  }
  return null;
}
