// The hold on a burst of SCIM deactivations (migrations/0021's scim_deprovisions). The choice and
// why (README, "SCIM provisioning"): a deactivation past the threshold is HELD for an Owner's or
// Admin's Apply, not applied and offered for a one-click restore. SCIM is a push: the provider is
// answered as if the change were made (200, the User stored `active: false` as sent), so it neither
// retries nor re-sends it, while the member stays active and keeps their sessions. A restore would
// come after the harm (sessions ended, Admins locked out mid-incident), and the provider, whose
// view says "inactive" either way, would not undo its own mistake for us.
//
// The threshold, as directory sync's: a deactivation is held when, counting it, the provider's
// deactivations of the last 24 hours are more than 5 people and more than 10 % of the
// organization's SCIM Users; while a hold is open every further deactivation joins it. The window
// is counted from this table (one index range) and the Users from one row that triggers keep
// (scim_user_counts), so a request never counts a large organization.
// The request's read predicts the outcome (its log line); the write batch decides it again in SQL
// (`deprovisionStatements`), and D1 runs one batch at a time: requests the provider sends in
// parallel cannot slip deactivations past the threshold between read and write.
import { sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { auditStatement } from "./audit.ts";
import { memberUserRow } from "./members.ts";
import { insertEventsFor, MEMBER_OF_U } from "./outbox.ts";
import { statement, type Statement } from "./statements.ts";

export const HOLD_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Held only past this many people in the window… */
export const HOLD_MIN_PEOPLE = 5;
/** …and past this share of the organization's SCIM Users (percent). */
export const HOLD_SHARE_PERCENT = 10;

export interface Burst {
  /** The provider's deactivations in the window, of other Users. */
  recent: number;
  holdOpen: boolean;
  /** The organization's SCIM Users, counted up to the bound the decision needs. */
  users: number;
}

/** The organization's SCIM Users: one row that triggers keep (migrations/0021). */
const usersOf = (org: SQL | string) => sql`coalesce((select users from scim_user_counts where organization_id = ${org}), 0)`;

/** The provider's other deactivations in the window: one range of scim_deprovisions_recent. */
const recentOf = (org: SQL | string, userId: string, now: number) =>
  sql`(select count(*) from scim_deprovisions where organization_id = ${org} and requested_at > ${now - HOLD_WINDOW_MS} and user_id <> ${userId})`;

/** The burst as seen by a request on User `userId`: one statement for its read batch. */
export function burstRead(db: Db, org: SQL, userId: string, now: number): Statement {
  return statement(
    db,
    sql`select ${recentOf(org, userId, now)} as recent,
      exists (select 1 from scim_deprovisions where organization_id = ${org} and held = 1) as holdOpen,
      ${usersOf(org)} as users`,
  );
}

export function burstOf(result: D1Result | undefined): Burst {
  const row = result?.results[0] as { recent: number; holdOpen: number; users: number } | undefined;
  return { recent: row?.recent ?? 0, holdOpen: !!row?.holdOpen, users: row?.users ?? 0 };
}

/** Whether one more deactivation must be held. */
export function mustHold(burst: Burst): boolean {
  const count = burst.recent + 1;
  return burst.holdOpen || (count > HOLD_MIN_PEOPLE && count * 100 > burst.users * HOLD_SHARE_PERCENT);
}

/** mustHold in SQL, over what the write batch sees when it runs (another hold than this User's own row). */
function mustHoldSql(change: { organizationId: string; userId: string; now: number }): SQL {
  const { organizationId, userId, now } = change;
  const recent = recentOf(organizationId, userId, now);
  return sql`(exists (select 1 from scim_deprovisions where organization_id = ${organizationId} and held = 1 and user_id <> ${userId})
    or (${recent} + 1 > ${HOLD_MIN_PEOPLE} and (${recent} + 1) * 100 > ${usersOf(organizationId)} * ${HOLD_SHARE_PERCENT}))`;
}

/**
 * A deactivation by the provider: applied, or held by the burst threshold, decided by the batch
 * itself. Its first statement writes this User's row of the window with the decision (`held`),
 * evaluated once over what the batch sees; every later statement reads that row by its primary key
 * and runs only for its side. D1 runs one batch at a time, so parallel requests cannot slip past.
 */
export function deprovisionStatements(
  db: Db,
  change: { organizationId: string; userId: string; now: number },
  deactivate: (onlyIf: SQL) => Statement[],
): Statement[] {
  const { organizationId, userId, now } = change;
  const decided = (held: 0 | 1) =>
    sql`exists (select 1 from scim_deprovisions where organization_id = ${organizationId} and user_id = ${userId} and held = ${held})`;
  return [
    statement(
      db,
      sql`insert into scim_deprovisions (organization_id, user_id, requested_at, held)
      select ${organizationId}, ${userId}, ${now}, case when ${mustHoldSql(change)} then 1 else 0 end
      where 1
      on conflict (organization_id, user_id) do update set requested_at = excluded.requested_at, held = excluded.held`,
    ),
    ...holdDeprovision(db, change, decided(1)),
    ...deactivate(decided(0)),
    // The window's rows past 24 hours, not held: a range of the index holding only what it deletes.
    statement(
      db,
      sql`delete from scim_deprovisions where organization_id = ${organizationId} and requested_at <= ${now - HOLD_WINDOW_MS} and held = 0`,
    ),
  ];
}

/**
 * A deactivation held (its row says so): audited, the member left active. The hold's event (and so
 * its webhook alert) is raised by the deactivation that opens it: no other User held yet.
 */
function holdDeprovision(db: Db, change: { organizationId: string; userId: string; now: number }, onlyIf: SQL): Statement[] {
  const { organizationId, userId, now } = change;
  const noHoldYet = sql`not exists (select 1 from scim_deprovisions where organization_id = ${organizationId} and held = 1 and user_id <> ${userId})`;
  const member = memberUserRow(userId);
  const recent = sql`(${recentOf(organizationId, userId, now)} + 1)`;
  return [
    statement(
      db,
      insertEventsFor(
        "scim.deactivations.held",
        {
          organizationId,
          now,
          data: { organization_id: organizationId, member: MEMBER_OF_U, recent_deactivations: recent },
        },
        { from: member.from, where: sql`${member.where} and ${noHoldYet} and ${onlyIf}` },
      ),
    ),
    auditStatement(
      db,
      {
        organizationId,
        actorUserId: null,
        action: "scim.deactivation_held",
        targetUserId: sql`${userId}`,
        details: sql`json_object('recentDeactivations', ${recent})`,
        now,
      },
      sql`where ${onlyIf}`,
    ),
  ];
}

/** The provider sent `active: true` again for a User whose deactivation is held: the hold lets them go. */
export function releaseHeld(db: Db, organizationId: string, userId: string): Statement {
  return statement(db, sql`delete from scim_deprovisions where organization_id = ${organizationId} and user_id = ${userId} and held = 1`);
}
