// Why real-time updates could not be set up or renewed, in the words the Directory sync section
// shows. Whatever the reason, the nightly sync still runs.
import type { RealtimeFailure } from "../../src/db/schema.ts";

export const REALTIME_FAILURE_TEXT = {
  needs_reconnect: "Microsoft no longer accepts the connection's grant. Click Connect Entra ID again.",
  not_connected: "Microsoft Entra ID is not connected.",
  graph_unavailable: "Microsoft Graph did not answer.",
  throttled: "Microsoft Graph is throttling requests.",
  forbidden: "Microsoft Graph refused: the User.Read.All permission is missing.",
  validation_failed: "Microsoft could not reach UniAsset's notification address.",
  rejected: "Microsoft Graph refused the subscription.",
  internal: "Something went wrong on our side.",
} as const satisfies Record<RealtimeFailure, string>;
