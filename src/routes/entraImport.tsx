// Bulk import from the directory: Owners and Admins on Enterprise, scoped to the session's
// organization. Preview and apply take only the scope (all users or group ids); who is imported
// is always read from the directory again.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { requirePlan, requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { findConnectionSummary } from "../db/connections.ts";
import { MAX_IMPORT_GROUPS, applyImport, planImport, searchImportGroups, type ImportScope } from "../entra/bulkImport.ts";
import { groupIdField, groupSearchField } from "../lib/schemas.ts";
import { validate } from "../lib/validate.ts";
import { GroupChoices } from "../../views/pages/entraMapping.tsx";
import { ImportDone, ImportPreview, ImportSection } from "../../views/pages/entraImport.tsx";

export const entraImportRoutes = new Hono<AppContext>();

const BASE = "/settings/integrations/entra/import";
const guards = [requireRole("owner", "admin"), requirePlan("enterprise")] as const;

const isHtmx = (c: Context<AppContext>) => c.req.header("HX-Request") === "true";

/** One or several `groupIds` fields (a form sends a repeated field as an array). */
const groupIdsField = z.preprocess(
  (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]),
  z.array(groupIdField).max(MAX_IMPORT_GROUPS, { message: `Choose at most ${MAX_IMPORT_GROUPS} groups.` }),
);

const importForm = z
  .object({
    scope: z.enum(["all", "groups"], { message: "Choose all users or members of chosen groups." }),
    groupIds: groupIdsField,
  })
  .refine((form) => form.scope === "all" || form.groupIds.length > 0, { message: "Choose at least one group to import." })
  .transform((form): ImportScope => (form.scope === "all" ? { scope: "all" } : { scope: "groups", groupIds: [...new Set(form.groupIds)] }));

entraImportRoutes.get(BASE, ...guards, async (c) => {
  const viewer = viewerOf(c);
  const connection = await findConnectionSummary(c.get("db"), viewer.organizationId);
  const section = <ImportSection viewer={viewer} connected={connection?.status === "connected"} />;
  return isHtmx(c) ? c.html(section) : c.render(section, { title: "Import users", nav: "settings" });
});

// The groups already ticked come along with each search, so a choice survives the next search.
entraImportRoutes.get(
  BASE + "/groups",
  ...guards,
  validate("query", z.object({ q: groupSearchField, groupIds: groupIdsField })),
  async (c) => {
    const viewer = viewerOf(c);
    const { q, groupIds } = c.req.valid("query");
    const { found, chosen } = await searchImportGroups(c.get("db"), c.get("config"), viewer.organizationId, q, groupIds);
    return c.html(<GroupChoices groups={found} chosen={chosen} query={q} inputType="checkbox" inputName="groupIds" />);
  },
);

entraImportRoutes.post(BASE + "/preview", ...guards, validate("form", importForm), async (c) => {
  const viewer = viewerOf(c);
  const plan = await planImport(c.get("db"), c.get("config"), viewer, c.req.valid("form"), Date.now());
  const view = <ImportPreview viewer={viewer} plan={plan} />;
  return isHtmx(c) ? c.html(view) : c.render(view, { title: "Preview import", nav: "settings" });
});

entraImportRoutes.post(BASE + "/apply", ...guards, validate("form", importForm), async (c) => {
  const viewer = viewerOf(c);
  const result = await applyImport(c.get("db"), c.get("config"), viewer, c.req.valid("form"), Date.now());
  const view = <ImportDone viewer={viewer} result={result} />;
  return isHtmx(c) ? c.html(view) : c.render(view, { title: "Import users", nav: "settings" });
});
