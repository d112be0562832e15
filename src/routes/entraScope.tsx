// The sync scope on the Entra page (issue 20): Owners and Admins on Enterprise, scoped to the
// session's organization. Preview takes only the proposed scope (mode, group ids, domain names)
// and starts a Workflow run whose progress the section polls; Save takes only the preview it
// saves, and the directory run it starts decides again who leaves or comes back
// (src/entra/scopeChange.ts).
import { Hono } from "hono";
import { z } from "zod";
import { requirePlan, requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { findConnectionSummary } from "../db/connections.ts";
import { MAX_SCOPE_GROUPS, SYNC_SCOPE_MODES } from "../db/schema.ts";
import { findScope } from "../db/syncScope.ts";
import { searchImportGroups } from "../entra/bulkImport.ts";
import { latestScopePreview, saveScopeChange, scopeRunOf, startScopePreview, type ProposedScope } from "../entra/scopeChange.ts";
import { AppError } from "../lib/errors.ts";
import { groupIdField, groupSearchField, repeatedField } from "../lib/schemas.ts";
import { validate } from "../lib/validate.ts";
import { fragmentOrPage } from "./respond.tsx";
import { GroupChoices } from "../../views/pages/entraMapping.tsx";
import { ScopePreviewStatus, ScopeSaved, ScopeSection } from "../../views/pages/entraScope.tsx";

/** Mounted at PATHS.entraScope. */
export const entraScopeRoutes = new Hono<AppContext>();
const guards = [requireRole("owner", "admin"), requirePlan("directorySync")] as const;

const groupIdsField = repeatedField(groupIdField, MAX_SCOPE_GROUPS, `Choose at most ${MAX_SCOPE_GROUPS} groups.`);
const domainField = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9.-]{1,253}$/, { message: "That is not a domain name." });

const scopeForm = z
  .object({
    mode: z.enum(SYNC_SCOPE_MODES, { message: "Choose everyone in the chosen domains, or members of chosen groups." }),
    groupIds: groupIdsField,
    domains: repeatedField(domainField, 100, "Too many domains."),
  })
  .refine((form) => form.mode === "domains" || form.groupIds.length > 0, { message: "Choose at least one group." })
  .refine((form) => form.domains.length > 0, { message: "Choose at least one domain." })
  .transform(
    (form): ProposedScope => ({
      mode: form.mode,
      groupIds: form.mode === "groups" ? [...new Set(form.groupIds)] : [],
      domains: [...new Set(form.domains)],
    }),
  );

entraScopeRoutes.get("/", ...guards, async (c) => {
  const viewer = viewerOf(c);
  const db = c.get("db");
  const [connection, scope, latest] = await Promise.all([
    findConnectionSummary(db, viewer.organizationId),
    findScope(db, viewer.organizationId),
    latestScopePreview(db, viewer.organizationId),
  ]);
  // A preview still running shows its progress after a reload; a finished one is not shown again.
  const running = latest?.status === "running" ? latest : null;
  const section = <ScopeSection viewer={viewer} connected={connection?.status === "connected"} scope={scope} running={running} />;
  return fragmentOrPage(c, section, { title: "Sync scope", nav: "settings" });
});

// The groups already ticked come along with each search, so a choice survives the next search.
entraScopeRoutes.get("/groups", ...guards, validate("query", z.object({ q: groupSearchField, groupIds: groupIdsField })), async (c) => {
  const viewer = viewerOf(c);
  const { q, groupIds } = c.req.valid("query");
  const { found, chosen } = await searchImportGroups(c.get("db"), c.get("config"), viewer.organizationId, q, groupIds);
  return c.html(<GroupChoices groups={found} chosen={chosen} query={q} inputType="checkbox" inputName="groupIds" />);
});

// Preview starts a run of the import Workflow and answers with its progress, which polls itself.
entraScopeRoutes.post("/preview", ...guards, validate("form", scopeForm), async (c) => {
  const viewer = viewerOf(c);
  const started = await startScopePreview(c.get("db"), c.get("config"), c.get("importWorkflow"), viewer, c.req.valid("form"), Date.now());
  return fragmentOrPage(c, <ScopePreviewStatus viewer={viewer} preview={started} />, { title: "Preview the sync scope", nav: "settings" });
});

entraScopeRoutes.get("/preview/progress", ...guards, async (c) => {
  const viewer = viewerOf(c);
  const latest = await latestScopePreview(c.get("db"), viewer.organizationId);
  return fragmentOrPage(c, <ScopePreviewStatus viewer={viewer} preview={latest} />, { title: "Preview the sync scope", nav: "settings" });
});

// Save names the preview it saves; the scope is read from it, and a directory run applies it.
entraScopeRoutes.post(
  "/apply",
  ...guards,
  validate("form", z.object({ preview: z.uuid({ message: "That preview is not valid: preview the change again." }) })),
  async (c) => {
    const viewer = viewerOf(c);
    const db = c.get("db");
    const saved = await saveScopeChange(db, c.get("syncWorkflow"), viewer, c.req.valid("form").preview, Date.now());
    const run = await scopeRunOf(db, viewer.organizationId, saved.runId);
    return fragmentOrPage(c, <ScopeSaved preview={saved.preview} run={run} />, { title: "Sync scope", nav: "settings" });
  },
);

// The run a save started, polled by the saved fragment until it ends.
entraScopeRoutes.get(
  "/runs/:runId",
  ...guards,
  validate("param", z.object({ runId: z.uuid({ message: "That run is not valid." }) })),
  async (c) => {
    const viewer = viewerOf(c);
    const db = c.get("db");
    const run = await scopeRunOf(db, viewer.organizationId, c.req.valid("param").runId);
    if (!run) throw new AppError("not_found", "That run is not one of your organization's.");
    return fragmentOrPage(c, <ScopeSaved preview={null} run={run} />, { title: "Sync scope", nav: "settings" });
  },
);
