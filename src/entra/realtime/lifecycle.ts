// Lifecycle notifications (https://learn.microsoft.com/en-us/graph/change-notifications-lifecycle-events).
// Microsoft documents reauthorizationRequired for all resources and, today, subscriptionRemoved and
// missed only for Outlook and Teams resources; `users` may gain them, and handling them costs
// nothing, so all three are handled:
// - reauthorizationRequired: renew (the page allows "reauthorize or renew"); renewing also proves
//   the grant still works, and a dead grant shows on the page as the reason.
// - subscriptionRemoved: create a new subscription, then read the delta (changes in between were
//   never notified).
// - missed: read the delta.
import type { Db } from "../../db/client.ts";
import type { Config } from "../../lib/config.ts";
import type { SyncWorkflow } from "../sync/launch.ts";
import type { LifecycleEvent } from "./receive.ts";
import { requestRealtimeRead } from "./reread.ts";
import { renewRealtimeUpdates, startRealtimeUpdates } from "./subscription.ts";

export async function handleLifecycleEvent(
  db: Db,
  config: Config,
  workflow: SyncWorkflow,
  event: { organizationId: string; lifecycleEvent: LifecycleEvent },
  now: number,
): Promise<void> {
  const { organizationId } = event;
  switch (event.lifecycleEvent) {
    case "reauthorizationRequired":
      await renewRealtimeUpdates(db, config, organizationId, now);
      return;
    case "subscriptionRemoved":
      await startRealtimeUpdates(db, config, organizationId, null, now);
      await requestRealtimeRead(db, workflow, organizationId, now);
      return;
    case "missed":
      await requestRealtimeRead(db, workflow, organizationId, now);
      return;
  }
}
