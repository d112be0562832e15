// Microsoft Graph's side of real-time updates: the notification URL and the lifecycle notification
// URL of the organization's subscription (src/entra/realtime/subscription.ts). No session, no
// CSRF token: Graph authenticates nothing, so nothing here is trusted. A request is either
// - the validation handshake: `?validationToken=…`, echoed as text/plain with 200 at once (Graph
//   waits at most 10 seconds), writing nothing
//   (https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#notificationurl-validation); or
// - a changeNotificationCollection: every item's subscription id and clientState are checked
//   (src/entra/realtime/receive.ts has the rule). A forged item refuses the whole POST (403);
//   otherwise the answer is 202 Accepted once each organization's change is written down (one D1
//   batch), the verified items' work handed off after it,
//   and items of subscriptions we no longer hold acknowledged and dropped, so Graph stops retrying
//   them (https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#receive-notifications).
// Anything else is a 4xx and changes nothing.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppContext } from "../context.ts";
import { handleLifecycleEvent } from "../entra/realtime/lifecycle.ts";
import { verifyNotifications, type VerifiedItem } from "../entra/realtime/receive.ts";
import { noteChange, startNotedRead } from "../entra/realtime/reread.ts";
import { REALTIME_NOTIFICATION_PATHS } from "../paths.ts";

/** Mounted at PATHS.realtime as a machine caller (app.tsx): no session, no CSRF check, this body limit. */
export const realtimeRoutes = new Hono<AppContext>();

// Graph's tokens are about 150 characters; anything far longer is not Graph.
const MAX_VALIDATION_TOKEN = 1024;
const MAX_NOTIFICATION_BYTES = 1024 * 1024;

realtimeRoutes.use(bodyLimit({ maxSize: MAX_NOTIFICATION_BYTES, onError: (c) => c.body(null, 413) }));

/** The handshake's answer, or undefined when this is no handshake. */
function handshake(c: Context<AppContext>): Response | undefined {
  const token = c.req.query("validationToken");
  if (token === undefined) return undefined;
  if (token.length === 0 || token.length > MAX_VALIDATION_TOKEN) return c.body(null, 400);
  return c.text(token, 200, { "content-type": "text/plain; charset=utf-8" });
}

async function verified(c: Context<AppContext>): Promise<VerifiedItem[] | Response> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return c.body(null, 400);
  }
  const verdict = await verifyNotifications(c.get("db"), c.get("config"), body);
  return verdict.ok ? verdict.items : c.body(null, verdict.status);
}

/** After the 202: the work runs on, and the response does not wait for it. */
function afterAnswer(c: Context<AppContext>, work: Promise<unknown>): void {
  c.executionCtx.waitUntil(
    work.catch((error: unknown) => console.error("notification work failed", error instanceof Error ? error.name : typeof error)),
  );
}

realtimeRoutes.post(REALTIME_NOTIFICATION_PATHS.changes, async (c) => {
  const answer = handshake(c);
  if (answer) return answer;
  const items = await verified(c);
  if (items instanceof Response) return items;
  const db = c.get("db");
  const now = Date.now();
  const organizations = [...new Set(items.map((item) => item.organizationId))];
  // Written down before the 202 (src/entra/realtime/reread.ts, the invariant): a notification
  // Graph counts as delivered is never only in this isolate's memory. A D1 failure is a 5xx, and
  // Graph delivers it again.
  const noted = await Promise.all(organizations.map((organizationId) => noteChange(db, organizationId, now)));
  afterAnswer(c, Promise.all(noted.map((change) => startNotedRead(db, c.get("syncWorkflow"), change))));
  return c.body(null, 202);
});

realtimeRoutes.post(REALTIME_NOTIFICATION_PATHS.lifecycle, async (c) => {
  const answer = handshake(c);
  if (answer) return answer;
  const items = await verified(c);
  if (items instanceof Response) return items;
  const db = c.get("db");
  const config = c.get("config");
  const now = Date.now();
  // One of each event per organization: a collection repeating an event (or a replay) acts once.
  const events = [
    ...new Map(
      items.flatMap((item) =>
        item.lifecycleEvent
          ? [
              [
                `${item.organizationId} ${item.lifecycleEvent}`,
                { organizationId: item.organizationId, lifecycleEvent: item.lifecycleEvent },
              ] as const,
            ]
          : [],
      ),
    ).values(),
  ];
  afterAnswer(
    c,
    (async () => {
      for (const event of events) await handleLifecycleEvent(db, config, c.get("syncWorkflow"), event, now);
    })(),
  );
  return c.body(null, 202);
});
