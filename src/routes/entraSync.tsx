// Settings → Integrations → Microsoft Entra ID → Directory sync (an htmx section of that page).
// Owners and Admins on Enterprise only; always the session's organization, never one from the
// URL or a form. Every action answers with the refreshed section (or redirects without htmx).
import { Hono, type Context } from "hono";
import { z } from "zod";
import { requirePlan, requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import {
  applyHeldRun, dismissHeldRun, loadSyncSection, setHoldThreshold, startRunFromPage, undoRun,
} from "../entra/sync/runActions.ts";
import { validate } from "../lib/validate.ts";
import { uuidParam, wholeNumberField } from "../lib/schemas.ts";
import { SYNC_PATH, SyncSection } from "../../views/pages/entraSync.tsx";

export const entraSyncRoutes = new Hono<AppContext>();

const ENTRA_PAGE = "/settings/integrations/entra";
const guards = [requireRole("owner", "admin"), requirePlan("enterprise")] as const;
// Run ids are UUIDs ("Sync now", "Preview") or nightly-<organization>-<scheduled time>.
const runParam = z.object({
  id: z.union([uuidParam, z.string().regex(/^nightly-[0-9a-f-]{36}-\d{1,15}$/, { message: "That link is not valid." })]),
});

async function section(c: Context<AppContext>) {
  const viewer = viewerOf(c);
  const data = await loadSyncSection(c.get("db"), viewer.organizationId, Date.now());
  if (c.req.header("HX-Request") === "true") return c.html(<SyncSection viewer={viewer} data={data} />);
  return c.render(<SyncSection viewer={viewer} data={data} />, { title: "Directory sync", nav: "settings" });
}

/** After an action: the section for htmx, the Entra page otherwise. */
function done(c: Context<AppContext>) {
  return c.req.header("HX-Request") === "true" ? section(c) : c.redirect(ENTRA_PAGE, 303);
}

entraSyncRoutes.get(SYNC_PATH, ...guards, (c) => section(c));

entraSyncRoutes.post(`${SYNC_PATH}/run`, ...guards, async (c) => {
  await startRunFromPage(c.get("db"), c.env.SYNC_WORKFLOW, viewerOf(c), "manual", Date.now());
  return done(c);
});

entraSyncRoutes.post(`${SYNC_PATH}/preview`, ...guards, async (c) => {
  await startRunFromPage(c.get("db"), c.env.SYNC_WORKFLOW, viewerOf(c), "preview", Date.now());
  return done(c);
});

entraSyncRoutes.post(`${SYNC_PATH}/runs/:id/apply`, ...guards, validate("param", runParam), async (c) => {
  await applyHeldRun(c.get("db"), viewerOf(c), c.req.valid("param").id, Date.now());
  return done(c);
});

entraSyncRoutes.post(`${SYNC_PATH}/runs/:id/dismiss`, ...guards, validate("param", runParam), async (c) => {
  await dismissHeldRun(c.get("db"), viewerOf(c), c.req.valid("param").id, Date.now());
  return done(c);
});

entraSyncRoutes.post(`${SYNC_PATH}/runs/:id/undo`, ...guards, validate("param", runParam), async (c) => {
  await undoRun(c.get("db"), viewerOf(c), c.req.valid("param").id, Date.now());
  return done(c);
});

entraSyncRoutes.post(
  `${SYNC_PATH}/threshold`,
  ...guards,
  validate(
    "form",
    z.object({
      percent: wholeNumberField("Enter the percentage as a whole number, such as 10.", { min: 1, max: 100, range: "The percentage is between 1 and 100." }),
      minimum: wholeNumberField("Enter the number of members as a whole number, such as 5.", { min: 0, max: 1_000_000, range: "The minimum is between 0 and 1,000,000." }),
    }),
  ),
  async (c) => {
    await setHoldThreshold(c.get("db"), viewerOf(c), c.req.valid("form"), Date.now());
    return done(c);
  },
);
