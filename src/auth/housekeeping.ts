// Nightly housekeeping (with the Cron Trigger): sessions past their idle or absolute expiry and
// OAuth round trips nobody finished are deleted. They are refused anyway when presented; this
// keeps the tables to live rows.
import { deleteExpiredAuthFlows } from "../db/authFlows.ts";
import type { Db } from "../db/client.ts";
import { deleteExpiredSessions } from "../db/sessions.ts";
import { SESSION_IDLE_TIMEOUT_MS } from "./session.ts";
import { runStatements } from "../db/statements.ts";

export async function purgeExpiredSignInState(db: Db, now: number): Promise<void> {
  await runStatements(db, [deleteExpiredSessions(db, now, now - SESSION_IDLE_TIMEOUT_MS), deleteExpiredAuthFlows(db, now)]);
}
