// Reviewing the held SCIM deactivations (src/db/scimHolds.ts holds them): who is held, and Apply
// (deactivate them) or Dismiss (forget the hold), each one batch.
import { sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { auditStatement } from "./audit.ts";
import { byProviderEvents } from "./scimUsers.ts";
import { memberships } from "./schema.ts";
import { statement, type Statement } from "./statements.ts";

export interface HeldMember {
  userId: string;
  displayName: string;
  email: string | null;
  requestedAt: number;
  role: string | null;
}

/** The held deactivations the page lists (oldest first, at most `limit`) and their count. */
export async function listHeld(db: Db, organizationId: string, limit = 100): Promise<{ count: number; members: HeldMember[] }> {
  const [count, rows] = await db.$client.batch([
    statement(db, sql`select count(*) as n from scim_deprovisions where organization_id = ${organizationId} and held = 1`),
    statement(
      db,
      sql`select d.user_id as userId, u.display_name as displayName, u.email as email, d.requested_at as requestedAt, m.role as role
      from scim_deprovisions d join users u on u.id = d.user_id
      left join memberships m on m.organization_id = d.organization_id and m.user_id = d.user_id
      where d.organization_id = ${organizationId} and d.held = 1 order by d.requested_at, d.user_id limit ${limit}`,
    ),
  ]);
  return { count: (count!.results[0] as { n: number }).n, members: rows!.results as unknown as HeldMember[] };
}

/** The held members who are Owners: each is deactivated on its own under the last-Owner guard. */
export async function heldOwners(db: Db, organizationId: string): Promise<string[]> {
  const { results } = await db.$client
    .prepare(
      `select d.user_id as userId from scim_deprovisions d join memberships m on m.organization_id = d.organization_id and m.user_id = d.user_id
      where d.organization_id = ? and d.held = 1 and m.role = 'owner' and m.status = 'active'`,
    )
    .bind(organizationId)
    .all<{ userId: string }>();
  return results.map((row) => row.userId);
}

/**
 * Apply, for every held member but the Owners (the caller adds theirs, one by one): each active one
 * is deactivated with the reason 'scim', audited with the Owner or Admin who applied, raises
 * `member.deactivated` (cause "scim") and loses their sessions, set-based, in one batch. The held
 * rows then count in the window like any applied deactivation.
 */
export function applyHeldStatements(db: Db, change: { organizationId: string; actorUserId: string; now: number }): Statement[] {
  const { organizationId, actorUserId, now } = change;
  const heldIds = sql`(select user_id from scim_deprovisions where organization_id = ${organizationId} and held = 1)`;
  const guard = sql`${memberships.organizationId} = ${organizationId} and ${memberships.status} = 'active'
    and ${memberships.role} <> 'owner' and ${memberships.userId} in ${heldIds}`;
  return [
    auditStatement(
      db,
      {
        organizationId,
        actorUserId,
        action: "member.deactivated",
        targetUserId: sql`${memberships.userId}`,
        details: sql`'{"reason":"scim","held":true}'`,
        now,
      },
      sql`from ${memberships} where ${guard}`,
    ),
    statement(db, byProviderEvents("member.deactivated", { organizationId, now, actorUserId }, guard)),
    statement(
      db,
      sql`delete from sessions where organization_id = ${organizationId}
        and user_id in (select ${memberships.userId} from ${memberships} where ${guard})`,
    ),
    statement(
      db,
      sql`update ${memberships} set status = 'deactivated', deactivated_reason = 'scim', deactivated_at = ${now}, deactivated_by_run = null
        where ${guard}`,
    ),
  ];
}

/** Closes the hold: Apply keeps the rows in the window (held = 0); Dismiss forgets them. Audited either way. */
export function closeHoldStatements(
  db: Db,
  change: { organizationId: string; actorUserId: string; now: number; applied: boolean; count: number },
): Statement[] {
  const { organizationId, actorUserId, now } = change;
  return [
    auditStatement(
      db,
      {
        organizationId,
        actorUserId,
        action: change.applied ? "scim.held_applied" : "scim.held_dismissed",
        details: sql`json_object('held', ${change.count})`,
        now,
      },
      sql``,
    ),
    statement(
      db,
      change.applied
        ? sql`update scim_deprovisions set held = 0 where organization_id = ${organizationId} and held = 1`
        : sql`delete from scim_deprovisions where organization_id = ${organizationId} and held = 1`,
    ),
  ];
}
