// Why a sync run failed, in the words the Directory sync section shows. Every failure means the
// same thing to the customer: nothing was changed.
import type { SyncFailure } from "../../src/db/schema.ts";

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
  held_run_pending:
    "A held run is waiting for Apply or Dismiss: this read changed nothing, and what it found is read again once that is decided.",
} as const satisfies Record<SyncFailure, string>;
