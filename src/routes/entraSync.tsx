// Settings → Integrations → Microsoft Entra ID → Directory sync (an htmx section of that page).
// Owners and Admins on Enterprise only; always the session's organization, never one from the
// URL or a form. Every action answers with the refreshed section (or redirects without htmx).
import { Hono, type Context } from "hono";
import { z } from "zod";
import { requirePlan, requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import {
  applyHeldRun,
  dismissHeldRun,
  loadRunHistory,
  loadSyncSection,
  setHoldThreshold,
  startRunFromPage,
  undoRun,
} from "../entra/sync/runActions.ts";
import { cursorId, pageCursorField } from "../lib/pageCursor.ts";
import { validate } from "../lib/validate.ts";
import { uuidParam, wholeNumberField } from "../lib/schemas.ts";
import { PATHS } from "../paths.ts";
import { fragmentOrPage, fragmentOrRedirect } from "./respond.tsx";
import { directoryAlerts, loadAlertsState } from "../alerts/directoryAlerts.ts";
import { DirectoryAlertsSlot } from "../../views/parts/directoryAlerts.tsx";
import { RunHistory, SyncSection } from "../../views/pages/entraSync.tsx";

/** Mounted at PATHS.entraSync. */
export const entraSyncRoutes = new Hono<AppContext>();
const guards = [requireRole("owner", "admin"), requirePlan("deprovisioning")] as const;
// Run ids are UUIDs ("Sync now", "Preview") or nightly-<organization>-<scheduled time>.
const runParam = z.object({
  id: z.union([uuidParam, z.string().regex(/^nightly-[0-9a-f-]{36}-\d{1,15}$/, { message: "That link is not valid." })]),
});

async function syncSection(c: Context<AppContext>) {
  const viewer = viewerOf(c);
  return <SyncSection viewer={viewer} data={await loadSyncSection(c.get("db"), viewer.organizationId, Date.now())} />;
}

/**
 * The section as htmx gets it: with the alerts banner's slot out of band, since Apply, Dismiss or
 * a run ending (the section polls while one goes) changes what the banner says. One more
 * statement (the banner's indexed read) per fragment.
 */
async function syncFragment(c: Context<AppContext>) {
  const viewer = viewerOf(c);
  const db = c.get("db");
  const [data, state] = await Promise.all([loadSyncSection(db, viewer.organizationId, Date.now()), loadAlertsState(db, viewer)]);
  return (
    <>
      <SyncSection viewer={viewer} data={data} />
      <DirectoryAlertsSlot alerts={state ? directoryAlerts(state) : null} outOfBand />
    </>
  );
}

/** After an action: the refreshed section for htmx, the Entra page otherwise. */
const done = (c: Context<AppContext>) => fragmentOrRedirect(c, () => syncFragment(c), PATHS.entra);

entraSyncRoutes.get("/", ...guards, async (c) =>
  fragmentOrPage(c, () => syncFragment(c), { title: "Directory sync", nav: "settings", whole: () => syncSection(c) }),
);

// Run history, a page at a time: htmx swaps it into the section; without htmx it is a page of its
// own (inside #entra-sync, so an Undo there swaps in the refreshed section).
entraSyncRoutes.get(
  "/runs",
  ...guards,
  validate("query", z.object({ after: pageCursorField(z.tuple([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), cursorId])) })),
  async (c) => {
    const viewer = viewerOf(c);
    const { after } = c.req.valid("query");
    const { runs, older } = await loadRunHistory(c.get("db"), viewer.organizationId, after);
    const history = <RunHistory viewer={viewer} runs={runs} older={older} paged={after !== undefined} />;
    return fragmentOrPage(c, history, {
      title: "Directory sync history",
      nav: "settings",
      whole: () => (
        <section id="entra-sync" class="card">
          <h1>Directory sync history</h1>
          <p>
            <a href={PATHS.entra}>Back to Microsoft Entra ID</a>
          </p>
          {history}
        </section>
      ),
    });
  },
);

entraSyncRoutes.post("/run", ...guards, async (c) => {
  await startRunFromPage(c.get("db"), c.get("syncWorkflow"), viewerOf(c), "sync_now", Date.now());
  return done(c);
});

entraSyncRoutes.post("/preview", ...guards, async (c) => {
  await startRunFromPage(c.get("db"), c.get("syncWorkflow"), viewerOf(c), "preview", Date.now());
  return done(c);
});

entraSyncRoutes.post("/runs/:id/apply", ...guards, validate("param", runParam), async (c) => {
  await applyHeldRun(c.get("db"), c.get("syncWorkflow"), viewerOf(c), c.req.valid("param").id, Date.now());
  return done(c);
});

entraSyncRoutes.post("/runs/:id/dismiss", ...guards, validate("param", runParam), async (c) => {
  await dismissHeldRun(c.get("db"), c.get("syncWorkflow"), viewerOf(c), c.req.valid("param").id, Date.now());
  return done(c);
});

entraSyncRoutes.post("/runs/:id/undo", ...guards, validate("param", runParam), async (c) => {
  await undoRun(c.get("db"), viewerOf(c), c.req.valid("param").id, Date.now());
  return done(c);
});

entraSyncRoutes.post(
  "/threshold",
  ...guards,
  validate(
    "form",
    z.object({
      percent: wholeNumberField("Enter the percentage as a whole number, such as 10.", {
        min: 1,
        max: 100,
        range: "The percentage is between 1 and 100.",
      }),
      minimum: wholeNumberField("Enter the number of members as a whole number, such as 5.", {
        min: 0,
        max: 1_000_000,
        range: "The minimum is between 0 and 1,000,000.",
      }),
    }),
  ),
  async (c) => {
    await setHoldThreshold(c.get("db"), viewerOf(c), c.req.valid("form"), Date.now());
    return done(c);
  },
);
