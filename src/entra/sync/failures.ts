// Why a run failed: a closed set (db/schema.ts SYNC_FAILURE_CODES) stored in sync_runs.error and
// shown on the page in the words of views/parts/syncFailures.ts.
import type { SyncFailure } from "../../db/schema.ts";
import { GraphError } from "../graph.ts";
import { ConnectionTokenError } from "../tokens.ts";

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
