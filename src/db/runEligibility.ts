// Which connected organizations directory sync runs for (issue 20): Auto-deprovision sync on (a
// plan with deprovisioning), or Add new people automatically on (a plan with directory sync), each
// setting working on its own. A run with only the joiner setting on adds people and deactivates
// nobody (src/entra/sync/concludeRun.ts). The nightly fan-out (syncRuns.ts), real-time updates
// (realtimeSubscriptions.ts) and a run's own settings (syncRuns.ts findSyncSettings) read this one rule.
import { sql, type SQL } from "drizzle-orm";
import { planIncludes } from "./planFeatures.ts";

/** SQL true when the organization `o` (organizations) of the connection `c` (entra_connections) adds new people. */
export function addsNewPeopleFor(c: SQL, o: SQL): SQL {
  return sql`(${planIncludes(sql`${o}.plan`, "directorySync")} and exists (
      select 1 from sync_scopes s where s.organization_id = ${c}.organization_id and s.add_new_people = 1))`;
}

/** SQL true when runs exist for the connection `c` (entra_connections) of the organization `o` (organizations). */
export function runsExistFor(c: SQL, o: SQL): SQL {
  return sql`((${c}.auto_deprovision = 1 and ${planIncludes(sql`${o}.plan`, "deprovisioning")})
    or ${addsNewPeopleFor(c, o)})`;
}

/**
 * Turning Auto-deprovision sync or Add new people automatically on: the next run lists everyone.
 * Runs with only Add new people automatically on moved the delta link past changes they did not
 * judge (a leaver among them); runs before it, past people who were never added. A statement for
 * the batch that saves the setting, so the setting never stands without it.
 */
export function forgetDeltaLink(organizationId: string, now: number): SQL {
  return sql`update entra_connections set delta_link_enc = null, updated_at = ${now} where organization_id = ${organizationId}`;
}
