// The nightly upkeep of real-time updates, a page of organizations per Workflow step
// (nightlyWorkflow.ts): renew what expires within RENEW_WITHIN_MS, retry what failed or is missing
// while Auto-deprovision is on, and delete the subscriptions of organizations no longer eligible (a
// plan downgrade has no request of its own in this service, so this is where it is noticed).
import type { Db } from "../../db/client.ts";
import { listSubscriptionUpkeep } from "../../db/realtimeSubscriptions.ts";
import type { Config } from "../../lib/config.ts";
import { RENEW_WITHIN_MS, renewRealtimeUpdates, startRealtimeUpdates, stopRealtimeUpdates } from "./subscription.ts";

export const UPKEEP_PAGE_SIZE = 25;

export interface UpkeepPage {
  renewed: number;
  created: number;
  removed: number;
  failed: number;
  /** Where the next page starts; null after the last. */
  last: string | null;
}

export async function upkeepRealtimePage(db: Db, config: Config, after: string, now: number): Promise<UpkeepPage> {
  const rows = await listSubscriptionUpkeep(db, { renewBefore: now + RENEW_WITHIN_MS, after, limit: UPKEEP_PAGE_SIZE });
  const page: UpkeepPage = { renewed: 0, created: 0, removed: 0, failed: 0, last: null };
  for (const row of rows) {
    if (!row.eligible) {
      await stopRealtimeUpdates(db, config, row.organization_id, null, now);
      page.removed++;
    } else if (row.subscription_id && row.status === "active") {
      const renewed = await renewRealtimeUpdates(db, config, row.organization_id, now);
      if (renewed.ok) page.renewed++;
      else page.failed++;
    } else {
      const created = await startRealtimeUpdates(db, config, row.organization_id, null, now);
      if (created.ok) page.created++;
      else page.failed++;
    }
  }
  page.last = rows.length === UPKEEP_PAGE_SIZE ? rows.at(-1)!.organization_id : null;
  return page;
}
