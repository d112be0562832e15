// Settings → Integrations → SCIM provisioning (Owners and Admins). Generating or rotating a token
// needs the Enterprise plan; revoking works on every plan. Token ids from the URL are looked up
// within the session's organization.
import { Hono, type Context } from "hono";
import { z } from "zod";
import { requirePlan, requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { validate } from "../lib/validate.ts";
import { PATHS } from "../paths.ts";
import { generateScimToken, loadScimPage, revokeScimToken, ROTATION_GRACE_MS } from "../people/scim/tokens.ts";
import { changeScimDefaultRole, changeScimGroupRole, listScimGroupRoles } from "../people/scim/mapping.ts";
import { mappableRoleField } from "../lib/schemas.ts";
import { ScimPage } from "../../views/pages/scim.tsx";

/** Mounted at PATHS.scimSettings. */
export const scimSettingsRoutes = new Hono<AppContext>();

const managers = requireRole("owner", "admin");
const PAGE = { title: "SCIM provisioning", nav: "settings" } as const;

async function render(c: Context<AppContext>, options: { newToken?: string; mappingNotice?: string } = {}) {
  const viewer = viewerOf(c);
  const now = Date.now();
  const [loaded, mapping] = await Promise.all([loadScimPage(c.get("db"), viewer), listScimGroupRoles(c.get("db"), viewer.organizationId)]);
  const data = { ...loaded, mapping, now, baseUrl: `${c.get("config").APP_ORIGIN}${PATHS.scim}`, graceHours: ROTATION_GRACE_MS / 3_600_000 };
  return c.render(<ScimPage viewer={viewer} data={data} {...options} />, PAGE);
}

scimSettingsRoutes.get("/", managers, (c) => render(c));

scimSettingsRoutes.post(
  "/tokens",
  managers,
  requirePlan("scim"),
  validate("form", z.object({ rotate: z.literal("1").optional() })),
  async (c) => {
    const token = await generateScimToken(c.get("db"), viewerOf(c), c.req.valid("form").rotate === "1", Date.now());
    // The token is in this answer only: the page is never cached (app.tsx's no-store).
    return render(c, { newToken: token });
  },
);

scimSettingsRoutes.post(
  "/tokens/:id/revoke",
  managers,
  validate("param", z.object({ id: z.string().regex(/^[0-9a-f]{32}$/, { message: "That link is not valid." }) })),
  async (c) => {
    await revokeScimToken(c.get("db"), viewerOf(c), c.req.valid("param").id, Date.now());
    return c.redirect(PATHS.scimSettings, 303);
  },
);

/** SCIM groups in the group → role mapping: one group's role ("none" unmaps it), and the default role. */
scimSettingsRoutes.post(
  "/mapping",
  managers,
  requirePlan("scim"),
  validate(
    "form",
    z.object({
      groupId: z.guid({ message: "That is not a SCIM group id." }).transform((id) => id.toLowerCase()),
      role: z.union([mappableRoleField, z.literal("none")], { error: "Choose a role, or Not mapped." }),
    }),
  ),
  async (c) => {
    const form = c.req.valid("form");
    const notice = await changeScimGroupRole(c.get("db"), viewerOf(c), form.groupId, form.role, Date.now());
    return render(c, { mappingNotice: notice });
  },
);

scimSettingsRoutes.post(
  "/mapping/default",
  managers,
  requirePlan("scim"),
  validate("form", z.object({ role: mappableRoleField })),
  async (c) => {
    const notice = await changeScimDefaultRole(c.get("db"), viewerOf(c), c.req.valid("form").role, Date.now());
    return render(c, { mappingNotice: notice });
  },
);
