// What a real-time read needs to hold role lowerings across reads (issue 19), as concludeRun.ts
// holds deactivations (issue 18): the lowerings real-time reads applied lately, and the list of role
// changes on hold, if any. Both in one statement.
import { sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { mappedRoleRank } from "./roleRank.ts";
import type { SyncTrigger } from "./syncRuns.ts";

export interface RoleLoweringsAcrossReads {
  /** Lowerings real-time reads applied in runs started after `since`, not undone, never held first. */
  recentlyLowered: number;
  /** The run whose role changes wait on a person (Apply or Dismiss), the newest if several. */
  heldRunId: string | null;
}

/**
 * One range of sync_runs_org_started (a real-time read per burst of notifications) and each such
 * run's role changes by their primary key; the held list from run_role_changes_held.
 */
export async function findRoleLoweringsAcrossReads(db: Db, organizationId: string, since: number): Promise<RoleLoweringsAcrossReads> {
  const realtime: SyncTrigger = "realtime";
  const [row] = await db.all<{ lowered: number; held_run_id: string | null }>(sql`
    select
      (select count(*) from sync_runs r indexed by sync_runs_org_started
        cross join run_role_changes c on c.run_id = r.id
        where r.organization_id = ${organizationId} and r.started_at > ${since} and r.trigger = ${realtime}
          and c.state = 'applied' and c.was_held = 0 and ${mappedRoleRank(sql`c.to_role`)} < ${mappedRoleRank(sql`c.from_role`)}) as lowered,
      (select c.run_id from run_role_changes c indexed by run_role_changes_held
        where c.organization_id = ${organizationId} and c.state = 'held' order by c.decided_at desc limit 1) as held_run_id`);
  return { recentlyLowered: row?.lowered ?? 0, heldRunId: row?.held_run_id ?? null };
}

/**
 * Takes off the held list the members a later read decided to keep their role (their groups
 * changed back): Apply would otherwise still lower them.
 */
export function dropFromHeldList(organizationId: string, heldRunId: string, userIds: string[]) {
  return sql`delete from run_role_changes where organization_id = ${organizationId} and run_id = ${heldRunId} and state = 'held'
    and user_id in (select value from json_each(${JSON.stringify(userIds)}))`;
}
