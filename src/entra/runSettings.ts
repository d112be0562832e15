// Runs exist while Auto-deprovision sync or Add new people automatically is on (issue 20,
// src/db/runEligibility.ts): each setting works on its own. Turning either one on or off keeps
// real-time updates (the users subscription, src/entra/realtime/subscription.ts) to that rule: on
// while either is, stopped once both are off. Turning either on also makes the next run a full
// listing (runEligibility.ts forgetDeltaLink): joiner-only runs moved the delta link past leavers
// they did not judge, and runs before Add new people automatically past people who were never
// added (a delta read only names who changed since, so everyone already in the directory would
// otherwise wait for a full read). Add new people automatically forgets it in the batch that saves
// the setting (joiners.ts); Auto-deprovision sync here, right after its own save (connection.ts).
import type { Db } from "../db/client.ts";
import { findSubscription } from "../db/realtimeSubscriptions.ts";
import { forgetDeltaLink } from "../db/runEligibility.ts";
import { findSyncSettings } from "../db/syncRuns.ts";
import type { Config } from "../lib/config.ts";
import { startRealtimeUpdates, stopRealtimeUpdates } from "./realtime/subscription.ts";

export async function followRunSettings(
  db: Db,
  config: Config,
  change: { organizationId: string; actor: string; setting: "autoDeprovision" | "addNewPeople"; enabled: boolean },
  now: number,
) {
  const { organizationId, actor, setting, enabled } = change;
  if (setting === "autoDeprovision" && enabled) {
    await db.run(forgetDeltaLink(organizationId, now));
    await startRealtimeUpdates(db, config, organizationId, actor, now);
    return;
  }
  const [settings, subscription] = await Promise.all([findSyncSettings(db, organizationId), findSubscription(db, organizationId)]);
  const runsOn = settings?.status === "connected" && settings.runsOn;
  if (!runsOn) await stopRealtimeUpdates(db, config, organizationId, actor, now);
  else if (setting === "addNewPeople" && enabled && !subscription) await startRealtimeUpdates(db, config, organizationId, actor, now);
}
