// The sync scope on the Entra page (issue 20): Owners and Admins on Enterprise, scoped to the
// session's organization. Preview and apply take only the proposed scope (mode, group ids,
// domain names); who it adds or deactivates is always read from the directory again.
import { Hono } from "hono";
import { z } from "zod";
import { requirePlan, requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { findConnectionSummary } from "../db/connections.ts";
import { MAX_SCOPE_GROUPS, SYNC_SCOPE_MODES } from "../db/schema.ts";
import { findScope } from "../db/syncScope.ts";
import { searchImportGroups } from "../entra/bulkImport.ts";
import { applyScopeChange, planScopeChange, type ProposedScope } from "../entra/scopeChange.ts";
import { groupIdField, groupSearchField } from "../lib/schemas.ts";
import { validate } from "../lib/validate.ts";
import { fragmentOrPage } from "./respond.tsx";
import { GroupChoices } from "../../views/pages/entraMapping.tsx";
import { ScopePreview, ScopeSaved, ScopeSection } from "../../views/pages/entraScope.tsx";

/** Mounted at PATHS.entraScope. */
export const entraScopeRoutes = new Hono<AppContext>();
const guards = [requireRole("owner", "admin"), requirePlan("directorySync")] as const;

/** A field a form may send once, several times or not at all. */
const repeated = <T extends z.ZodType>(item: T, max: number, message: string) =>
  z.preprocess((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]), z.array(item).max(max, { message }));

const groupIdsField = repeated(groupIdField, MAX_SCOPE_GROUPS, `Choose at most ${MAX_SCOPE_GROUPS} groups.`);
const domainField = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9.-]{1,253}$/, { message: "That is not a domain name." });

const scopeForm = z
  .object({
    mode: z.enum(SYNC_SCOPE_MODES, { message: "Choose everyone in the chosen domains, or members of chosen groups." }),
    groupIds: groupIdsField,
    domains: repeated(domainField, 100, "Too many domains."),
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
  const [connection, scope] = await Promise.all([findConnectionSummary(db, viewer.organizationId), findScope(db, viewer.organizationId)]);
  const section = <ScopeSection viewer={viewer} connected={connection?.status === "connected"} scope={scope} />;
  return fragmentOrPage(c, section, { title: "Sync scope", nav: "settings" });
});

// The groups already ticked come along with each search, so a choice survives the next search.
entraScopeRoutes.get("/groups", ...guards, validate("query", z.object({ q: groupSearchField, groupIds: groupIdsField })), async (c) => {
  const viewer = viewerOf(c);
  const { q, groupIds } = c.req.valid("query");
  const { found, chosen } = await searchImportGroups(c.get("db"), c.get("config"), viewer.organizationId, q, groupIds);
  return c.html(<GroupChoices groups={found} chosen={chosen} query={q} inputType="checkbox" inputName="groupIds" />);
});

entraScopeRoutes.post("/preview", ...guards, validate("form", scopeForm), async (c) => {
  const viewer = viewerOf(c);
  const plan = await planScopeChange(c.get("db"), c.get("config"), viewer, c.req.valid("form"));
  return fragmentOrPage(c, <ScopePreview viewer={viewer} plan={plan} />, { title: "Preview the sync scope", nav: "settings" });
});

entraScopeRoutes.post("/apply", ...guards, validate("form", scopeForm), async (c) => {
  const viewer = viewerOf(c);
  const plan = await applyScopeChange(c.get("db"), c.get("config"), viewer, c.req.valid("form"), Date.now());
  return fragmentOrPage(c, <ScopeSaved plan={plan} />, { title: "Sync scope", nav: "settings" });
});
