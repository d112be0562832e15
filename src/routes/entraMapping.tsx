// Group → Role mapping editor: Owners and Admins on Enterprise, scoped to the session's
// organization. Every change goes through a preview, then Save; both re-read the directory.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { requirePlan, requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { searchDirectoryGroups } from "../entra/interactiveGraph.ts";
import { applyMappingChange, loadMappingSection, previewMappingChange } from "../entra/mappingEditor.ts";
import { groupIdField, groupSearchField, mappableRoleField } from "../lib/schemas.ts";
import { validate } from "../lib/validate.ts";
import { PATHS } from "../paths.ts";
import { planHas } from "../plans.ts";
import { listScimGroupRoles } from "../people/scim/mapping.ts";
import { fragmentOrPage, isHtmx } from "./respond.tsx";
import { GroupChoices, MappingEditor, MappingPreviewView } from "../../views/pages/entraMapping.tsx";
import { NextRunPreviewView } from "../../views/pages/mappingNextRun.tsx";
import { latestNextRunPreview, startNextRunPreview } from "../entra/nextRunPreview.ts";

/** Mounted at PATHS.entraMapping. */
export const entraMappingRoutes = new Hono<AppContext>();
const guards = [requireRole("owner", "admin"), requirePlan("directorySync")] as const;

const mappingChangeForm = z.discriminatedUnion(
  "change",
  [
    z.object({ change: z.literal("add"), groupId: groupIdField, role: mappableRoleField }),
    z.object({ change: z.literal("remove"), groupId: groupIdField }),
    z.object({ change: z.literal("default"), role: mappableRoleField }),
  ],
  { error: "Choose a change: add a mapping, remove one, or set the default role." },
);

async function renderEditor(c: Context<AppContext>, notice?: string) {
  const viewer = viewerOf(c);
  const section = await loadMappingSection(c.get("db"), c.get("config"), viewer.organizationId);
  // The latest preview of the next run: a reload shows it, running or done.
  const nextRun = section.connected ? await latestNextRunPreview(c.get("db"), viewer.organizationId) : null;
  // Without an Entra connection the organization's groups may be its SCIM provider's: list those.
  const scim =
    section.connected || !planHas(viewer.plan, "scim") ? undefined : await listScimGroupRoles(c.get("db"), viewer.organizationId);
  const editor = <MappingEditor viewer={viewer} section={section} notice={notice} scim={scim} nextRun={nextRun} />;
  return fragmentOrPage(c, editor, { title: "Group → Role mapping", nav: "settings" });
}

entraMappingRoutes.get("/", ...guards, (c) => renderEditor(c));

entraMappingRoutes.get("/groups", ...guards, validate("query", z.object({ q: groupSearchField })), async (c) => {
  const viewer = viewerOf(c);
  const query = c.req.valid("query").q;
  const groups = query ? await searchDirectoryGroups(c.get("db"), c.get("config"), viewer.organizationId, query) : [];
  return c.html(<GroupChoices groups={groups} query={query} />);
});

entraMappingRoutes.post("/preview", ...guards, validate("form", mappingChangeForm), async (c) => {
  const viewer = viewerOf(c);
  const preview = await previewMappingChange(c.get("db"), c.get("config"), viewer, c.req.valid("form"));
  const view = <MappingPreviewView viewer={viewer} preview={preview} />;
  return fragmentOrPage(c, view, { title: "Preview mapping change", nav: "settings" });
});

// Who the next run would move after the edits waiting for it (src/entra/nextRunPreview.ts): starts
// a run of the import Workflow and answers with its progress, which polls itself; changes nothing.
entraMappingRoutes.post("/next-run", ...guards, async (c) => {
  const preview = await startNextRunPreview(c.get("db"), c.get("importWorkflow"), viewerOf(c), Date.now());
  return fragmentOrPage(c, <NextRunPreviewView preview={preview} />, { title: "The next run", nav: "settings" });
});

// The latest preview's progress or result, polled while it runs.
entraMappingRoutes.get("/next-run", ...guards, async (c) => {
  const preview = await latestNextRunPreview(c.get("db"), viewerOf(c).organizationId);
  const view = preview ? <NextRunPreviewView preview={preview} /> : <div id="next-run-status"></div>;
  return fragmentOrPage(c, view, { title: "The next run", nav: "settings" });
});

entraMappingRoutes.post("/apply", ...guards, validate("form", mappingChangeForm), async (c) => {
  const notice = await applyMappingChange(c.get("db"), c.get("config"), viewerOf(c), c.req.valid("form"), Date.now());
  if (!isHtmx(c)) return c.redirect(PATHS.entra, 303);
  return renderEditor(c, notice);
});
