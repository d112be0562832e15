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
import { ScimPage } from "../../views/pages/scim.tsx";

/** Mounted at PATHS.scimSettings. */
export const scimSettingsRoutes = new Hono<AppContext>();

const managers = requireRole("owner", "admin");
const PAGE = { title: "SCIM provisioning", nav: "settings" } as const;

async function render(c: Context<AppContext>, newToken?: string) {
  const viewer = viewerOf(c);
  const now = Date.now();
  const loaded = await loadScimPage(c.get("db"), viewer);
  const data = { ...loaded, now, baseUrl: `${c.get("config").APP_ORIGIN}${PATHS.scim}`, graceHours: ROTATION_GRACE_MS / 3_600_000 };
  return c.render(<ScimPage viewer={viewer} data={data} {...(newToken ? { newToken } : {})} />, PAGE);
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
    return render(c, token);
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
