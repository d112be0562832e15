// Settings → Integrations → Microsoft Entra ID → Role changes (issue 19): the role changes of
// directory runs, with Apply / Dismiss for a held run and Undo for an applied one. Owners and Admins
// of a connected organization; always the session's organization, never one from the URL.
import { Hono } from "hono";
import { z } from "zod";
import { requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { applyHeldRoles, dismissHeldRoles, loadRoleChanges, undoRoleChanges } from "../entra/sync/roleChangeActions.ts";
import { validate } from "../lib/validate.ts";
import { uuidParam } from "../lib/schemas.ts";
import { PATHS } from "../paths.ts";
import { RoleChangesPage } from "../../views/pages/roleChanges.tsx";

/** Mounted at PATHS.entraRoleChanges. */
export const entraRoleChangesRoutes = new Hono<AppContext>();
const guard = requireRole("owner", "admin");
const runParam = z.object({
  id: z.union([uuidParam, z.string().regex(/^nightly-[0-9a-f-]{36}-\d{1,15}$/, { message: "That link is not valid." })]),
});

entraRoleChangesRoutes.get("/", guard, async (c) => {
  const viewer = viewerOf(c);
  const rows = await loadRoleChanges(c.get("db"), viewer.organizationId);
  return c.render(<RoleChangesPage viewer={viewer} rows={rows} />, { title: "Role changes", nav: "settings" });
});

const ACTIONS = { apply: applyHeldRoles, dismiss: dismissHeldRoles, undo: undoRoleChanges } as const;
for (const [name, act] of Object.entries(ACTIONS)) {
  entraRoleChangesRoutes.post(`/:id/${name}`, guard, validate("param", runParam), async (c) => {
    await act(c.get("db"), viewerOf(c), c.req.valid("param").id, Date.now());
    return c.redirect(PATHS.entraRoleChanges, 303);
  });
}
