// What travels on the webhook deliveries queue (wrangler.toml [[queues]] "uniasset-webhook-deliveries"):
// one message per event and endpoint, so each endpoint retries on its own schedule.
// (Declared in db/ so env.ts, below this folder, can type the binding.)
import type { DeliveryMessage } from "../db/webhooks.ts";

export type { DeliveryMessage };

export type DeliveryQueue = Queue<DeliveryMessage>;

/** Cloudflare Queues' limits: 100 messages a sendBatch, a delay of at most 12 h. */
export const SEND_BATCH_LIMIT = 100;
export const MAX_DELAY_SECONDS = 12 * 60 * 60;
