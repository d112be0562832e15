// The Worker: HTTP requests go to the Hono app; the nightly Cron Trigger starts the night's one
// NightlyWorkflow instance (wrangler.toml [triggers] and [[workflows]]), which starts a directory
// sync Workflow instance per organization a page at a time and then clears expired rows.
import { buildApp } from "./app.tsx";
import { nightlyFanoutId } from "./entra/sync/schedule.ts";
import type { Env } from "./env.ts";

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
} satisfies ExportedHandler<Env>;

export { DirectorySyncWorkflow } from "./entra/sync/workflow.ts";
export { NightlyWorkflow } from "./entra/sync/nightlyWorkflow.ts";
