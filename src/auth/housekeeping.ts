// Nightly housekeeping (with the Cron Trigger): sessions past their idle or absolute expiry, and
// the used-state rows of OAuth round trips whose cookie has expired, are deleted. Both are refused
// anyway when presented (an expired flow cookie never opens); this keeps the tables to live rows.
import type { Db } from "../db/client.ts";
import { deleteExpiredSessions } from "../db/sessions.ts";
import { deleteExpiredFlowStates } from "../db/usedFlowStates.ts";
import { SESSION_IDLE_TIMEOUT_MS } from "./session.ts";
import { runStatements } from "../db/statements.ts";

export async function purgeExpiredSignInState(db: Db, now: number): Promise<void> {
  await runStatements(db, [deleteExpiredSessions(db, now, now - SESSION_IDLE_TIMEOUT_MS), deleteExpiredFlowStates(db, now)]);
}
