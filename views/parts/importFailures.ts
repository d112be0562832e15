// Why an import stopped, in the words the Import section shows (src/db/schema.ts IMPORT_FAILURES).
import type { ImportFailure } from "../../src/db/schema.ts";

export const IMPORT_FAILURES = {
  needs_reconnect: "The connection needs to be reconnected: Microsoft no longer accepts its grant. Click Connect Entra ID again.",
  not_connected: "Microsoft Entra ID is not connected.",
  token_unreadable: "The stored connection could not be read. Disconnect and connect Entra ID again.",
  sign_in_unavailable: "Microsoft's sign-in service did not answer.",
  graph_unavailable: "Microsoft Graph did not answer a page of users after several retries.",
  throttled: "Microsoft Graph kept throttling the import.",
  forbidden: "Microsoft Graph refused to list users: the User.Read.All permission is missing.",
  bad_response: "Microsoft Graph answered with something unexpected.",
  tenant_changed: "The Entra ID connection changed during the import.",
  not_started: "The import could not be started.",
  internal: "The import stopped unexpectedly.",
  mapping_off: "Group → Role mapping was turned off while it ran.",
} as const satisfies Record<ImportFailure, string>;
