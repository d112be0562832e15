// The Worker: HTTP requests go to the Hono app; the nightly Cron Trigger starts the night's one
// NightlyWorkflow instance (wrangler.toml [triggers] and [[workflows]]), which starts a directory
// sync Workflow instance per organization a page at a time and then clears expired rows.
// Queue consumers: one queue() handler dispatches each batch by its queue's name to that queue's
// consumer module, which gets the db and bindings it needs, never Env.
import { buildApp } from "./app.tsx";
import { nightlyFanoutId } from "./entra/sync/schedule.ts";
import { createDb } from "./db/client.ts";
import type { DeliveryMessage } from "./db/webhooks.ts";
import type { Env } from "./env.ts";
import { tokenVault } from "./lib/vault.ts";
import { consumeWebhookDeliveries } from "./events/consumer.ts";

const app = buildApp();

export default {
  fetch: app.fetch,
  scheduled(controller, env, ctx) {
    // One Workflow call, whatever the number of organizations. A repeated cron event maps to the same
    // id: Workflows refuses it as existing, and that night goes on once.
    const id = nightlyFanoutId(controller.scheduledTime);
    ctx.waitUntil(
      env.NIGHTLY_WORKFLOW.create({ id, params: { scheduledTime: controller.scheduledTime } }).then(
        () => undefined,
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          if (!/already exist/i.test(message)) console.error("nightly workflow not started", message.slice(0, 200));
        },
      ),
    );
  },
  async queue(batch, env) {
    switch (batch.queue) {
      case WEBHOOK_DELIVERIES_QUEUE:
        return consumeWebhookDeliveries(batch as MessageBatch<DeliveryMessage>, {
          db: createDb(env.DB.withSession("first-primary")),
          vault: tokenVault(env),
          queue: env.WEBHOOK_DELIVERIES,
          now: Date.now,
        });
      default:
        // A queue bound to this Worker without a consumer here: leave its messages to retry.
        console.error("no consumer for queue", batch.queue);
        batch.retryAll();
    }
  },
} satisfies ExportedHandler<Env>;

/** wrangler.toml [[queues.consumers]] queue names. */
const WEBHOOK_DELIVERIES_QUEUE = "uniasset-webhook-deliveries";

export { DirectorySyncWorkflow } from "./entra/sync/workflow.ts";
export { NightlyWorkflow } from "./nightly/workflow.ts";
export { DirectoryImportWorkflow } from "./entra/import/workflow.ts";
