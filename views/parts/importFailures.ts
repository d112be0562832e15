// Why an import stopped, in the words the Import section shows (src/db/schema.ts IMPORT_FAILURE_CODES).
// A failure the sync meets too reads as the Directory sync section says it (syncFailures.ts); the
// rest are the import's own words.
import type { ImportFailure } from "../../src/db/schema.ts";
import { SYNC_FAILURES } from "./syncFailures.ts";

const { needs_reconnect, not_connected, token_unreadable, sign_in_unavailable, graph_unavailable, forbidden, bad_response } = SYNC_FAILURES;

export const IMPORT_FAILURES = {
  needs_reconnect,
  not_connected,
  token_unreadable,
  sign_in_unavailable,
  graph_unavailable,
  throttled: "Microsoft Graph kept throttling the import.",
  forbidden,
  bad_response,
  tenant_changed: "The Entra ID connection changed during the import.",
  not_started: "The import could not be started.",
  internal: "The import stopped unexpectedly.",
  mapping_off: "Group → Role mapping was turned off while it ran.",
} as const satisfies Record<ImportFailure, string>;
