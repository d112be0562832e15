// Bulk import from the directory: Owners and Admins on Enterprise, scoped to the session's
// organization. Preview takes only the scope (all users or group ids), Apply only the preview it
// applies; each runs as a Workflow (src/entra/import/workflow.ts) whose progress the section polls.
// Who is imported is always read from the directory again.
import { Hono } from "hono";
import { z } from "zod";
import { requirePlan, requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { findConnectionSummary } from "../db/connections.ts";
import { findScope } from "../db/syncScope.ts";
import { applyHeldJoiners, dismissHeldJoiners, setAddNewPeople } from "../entra/joiners.ts";
import { heldJoinersSummary } from "../db/joiners.ts";
import {
  MAX_IMPORT_GROUPS,
  latestImport,
  searchImportGroups,
  startImportApply,
  startImportPreview,
  type ImportScope,
} from "../entra/bulkImport.ts";
import { groupIdField, groupSearchField, repeatedField } from "../lib/schemas.ts";
import { validate } from "../lib/validate.ts";
import { fragmentOrPage } from "./respond.tsx";
import { GroupChoices } from "../../views/pages/entraMapping.tsx";
import { AddNewPeopleToggle, HeldJoiners, ImportSection, ImportStatus } from "../../views/pages/entraImport.tsx";

/** Mounted at PATHS.entraImport. */
export const entraImportRoutes = new Hono<AppContext>();
const guards = [requireRole("owner", "admin"), requirePlan("directorySync")] as const;

const groupIdsField = repeatedField(groupIdField, MAX_IMPORT_GROUPS, `Choose at most ${MAX_IMPORT_GROUPS} groups.`);

const importForm = z
  .object({
    scope: z.enum(["all", "groups"], { message: "Choose all users or members of chosen groups." }),
    groupIds: groupIdsField,
  })
  .refine((form) => form.scope === "all" || form.groupIds.length > 0, { message: "Choose at least one group to import." })
  .transform((form): ImportScope => (form.scope === "all" ? { scope: "all" } : { scope: "groups", groupIds: [...new Set(form.groupIds)] }));

entraImportRoutes.get("/", ...guards, async (c) => {
  const viewer = viewerOf(c);
  const db = c.get("db");
  const [connection, scope, held, latest] = await Promise.all([
    findConnectionSummary(db, viewer.organizationId),
    findScope(db, viewer.organizationId),
    heldJoinersSummary(db, viewer.organizationId),
    latestImport(db, viewer.organizationId),
  ]);
  const section = (
    <ImportSection
      viewer={viewer}
      connected={connection?.status === "connected"}
      addNewPeople={scope.addNewPeople}
      held={held}
      latest={latest}
    />
  );
  return fragmentOrPage(c, section, { title: "Import users", nav: "settings" });
});

// The progress fragment, polled by htmx while an import runs: read from its row, so a reload shows it too.
entraImportRoutes.get("/progress", ...guards, async (c) => {
  const viewer = viewerOf(c);
  const latest = await latestImport(c.get("db"), viewer.organizationId);
  return fragmentOrPage(c, <ImportStatus viewer={viewer} latest={latest} />, { title: "Import users", nav: "settings" });
});

// The groups already ticked come along with each search, so a choice survives the next search.
entraImportRoutes.get("/groups", ...guards, validate("query", z.object({ q: groupSearchField, groupIds: groupIdsField })), async (c) => {
  const viewer = viewerOf(c);
  const { q, groupIds } = c.req.valid("query");
  const { found, chosen } = await searchImportGroups(c.get("db"), c.get("config"), viewer.organizationId, q, groupIds);
  return c.html(<GroupChoices groups={found} chosen={chosen} query={q} inputType="checkbox" inputName="groupIds" />);
});

// Preview and Apply start a Workflow run (one at a time per organization) and answer with its progress.
entraImportRoutes.post("/preview", ...guards, validate("form", importForm), async (c) => {
  const viewer = viewerOf(c);
  const started = await startImportPreview(c.get("db"), c.get("config"), c.get("importWorkflow"), viewer, c.req.valid("form"), Date.now());
  return fragmentOrPage(c, <ImportStatus viewer={viewer} latest={started} />, { title: "Preview import", nav: "settings" });
});

// Apply names the preview it applies; who is imported is read from the directory again, with its rules.
entraImportRoutes.post(
  "/apply",
  ...guards,
  validate("form", z.object({ preview: z.uuid({ message: "That preview is not valid: preview the import again." }) })),
  async (c) => {
    const viewer = viewerOf(c);
    const started = await startImportApply(c.get("db"), c.get("importWorkflow"), viewer, c.req.valid("form").preview, Date.now());
    return fragmentOrPage(c, <ImportStatus viewer={viewer} latest={started} />, { title: "Import users", nav: "settings" });
  },
);

// "Add new people automatically" (issue 20): Owners and Admins, Enterprise (directorySync), audited.
entraImportRoutes.post(
  "/add-new-people",
  ...guards,
  validate("form", z.object({ enabled: z.enum(["true", "false"], { message: "enabled is true or false." }) })),
  async (c) => {
    const viewer = viewerOf(c);
    const enabled = c.req.valid("form").enabled === "true";
    await setAddNewPeople(c.get("db"), c.get("config"), viewer, enabled, Date.now());
    return fragmentOrPage(c, <AddNewPeopleToggle viewer={viewer} enabled={enabled} />, { title: "Import users", nav: "settings" });
  },
);

// A run's held additions (issue 20): Apply adds them (each only if still not a member), Dismiss forgets them.
entraImportRoutes.post("/held/apply", ...guards, async (c) => {
  const viewer = viewerOf(c);
  const db = c.get("db");
  const added = await applyHeldJoiners(db, viewer, Date.now());
  const view = (
    <HeldJoiners viewer={viewer} held={await heldJoinersSummary(db, viewer.organizationId)} message={`${added} new people added.`} />
  );
  return fragmentOrPage(c, view, { title: "Import users", nav: "settings" });
});

entraImportRoutes.post("/held/dismiss", ...guards, async (c) => {
  const viewer = viewerOf(c);
  const db = c.get("db");
  await dismissHeldJoiners(db, viewer, Date.now());
  const view = <HeldJoiners viewer={viewer} held={{ count: 0, names: [] }} message="Held new people dismissed." />;
  return fragmentOrPage(c, view, { title: "Import users", nav: "settings" });
});
