// The Worker: HTTP requests go to the Hono app; the nightly Cron Trigger starts one directory
// sync Workflow instance per organization (wrangler.toml [triggers] and [[workflows]]) and
// clears expired sessions and abandoned sign-ins.
import { buildApp } from "./app.tsx";
import { purgeExpiredSignInState } from "./auth/housekeeping.ts";
import { createDb } from "./db/client.ts";
import { startNightlySyncs } from "./entra/sync/launch.ts";
import type { Env } from "./env.ts";

const app = buildApp();

export default {
  fetch: app.fetch,
  scheduled(controller, env, ctx) {
    const db = createDb(env.DB);
    ctx.waitUntil(startNightlySyncs(db, env.SYNC_WORKFLOW, controller.scheduledTime));
    ctx.waitUntil(purgeExpiredSignInState(db, Date.now()));
  },
} satisfies ExportedHandler<Env>;

export { DirectorySyncWorkflow } from "./entra/sync/workflow.ts";
