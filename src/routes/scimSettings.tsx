// Settings → Integrations → SCIM provisioning (Owners and Admins). Generating or rotating a token
// needs the Enterprise plan; revoking works on every plan. Token ids from the URL are looked up
// within the session's organization.
import { Hono, type Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { tokenVault } from "../lib/vault.ts";
import type { Viewer } from "../context.ts";
import { z } from "zod";
import { requirePlan, requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { validate } from "../lib/validate.ts";
import { PATHS } from "../paths.ts";
import { generateScimToken, loadScimPage, revokeScimToken, ROTATION_GRACE_MS } from "../people/scim/tokens.ts";
import { changeScimDefaultRole, changeScimGroupRole, listScimGroupRoles } from "../people/scim/mapping.ts";
import { mappableRoleField } from "../lib/schemas.ts";
import { applyScimHold, dismissScimHold, listHeld } from "../people/scim/holds.ts";
import { relayAfterCommit } from "../events/afterCommit.ts";
import { ScimPage } from "../../views/pages/scim.tsx";

/** Mounted at PATHS.scimSettings. */
export const scimSettingsRoutes = new Hono<AppContext>();

const managers = requireRole("owner", "admin");
const PAGE = { title: "SCIM provisioning", nav: "settings" } as const;

async function render(c: Context<AppContext>, options: { newToken?: string; mappingNotice?: string; heldNotice?: string } = {}) {
  const viewer = viewerOf(c);
  const now = Date.now();
  const db = c.get("db");
  const [loaded, mapping, held] = await Promise.all([
    loadScimPage(db, viewer),
    listScimGroupRoles(db, viewer.organizationId),
    listHeld(db, viewer.organizationId),
  ]);
  const data = {
    ...loaded,
    mapping,
    held,
    now,
    baseUrl: `${c.get("config").APP_ORIGIN}${PATHS.scim}`,
    graceHours: ROTATION_GRACE_MS / 3_600_000,
  };
  return c.render(<ScimPage viewer={viewer} data={data} {...options} />, PAGE);
}

scimSettingsRoutes.get("/", managers, async (c) => {
  const newToken = await takeHandedOver(c, viewerOf(c), Date.now());
  return render(c, newToken ? { newToken } : {});
});

// The new token between Generate's POST and the page that shows it: sealed by the token vault for
// this organization and session (a cookie stolen elsewhere opens nowhere else), a few seconds'
// life, and deleted by the one GET that shows it.
const HANDOVER_COOKIE = "__Host-uniasset_scim_token";
const HANDOVER_MS = 60_000;
const handoverContext = (viewer: Viewer) =>
  ({ organizationId: viewer.organizationId, tenantId: viewer.sessionHash, field: "scim_token_display" }) as const;

async function handOver(c: Context<AppContext>, viewer: Viewer, token: string, now: number) {
  const sealed = await tokenVault(c.get("config")).seal(`${now + HANDOVER_MS} ${token}`, handoverContext(viewer));
  setCookie(c, HANDOVER_COOKIE, sealed, {
    path: "/",
    secure: true,
    httpOnly: true,
    sameSite: "Strict",
    maxAge: HANDOVER_MS / 1000,
  });
}

async function takeHandedOver(c: Context<AppContext>, viewer: Viewer, now: number): Promise<string | null> {
  const sealed = getCookie(c, HANDOVER_COOKIE);
  if (!sealed) return null;
  deleteCookie(c, HANDOVER_COOKIE, { path: "/", secure: true });
  const opened = await tokenVault(c.get("config")).open(sealed.slice(0, 2000), handoverContext(viewer));
  if (!opened.ok) return null;
  const [until, token] = opened.value.split(" ");
  return token && Number(until) > now ? token : null;
}

scimSettingsRoutes.post(
  "/tokens",
  managers,
  requirePlan("scim"),
  validate("form", z.object({ rotate: z.literal("1").optional() })),
  async (c) => {
    const viewer = viewerOf(c);
    const now = Date.now();
    const token = await generateScimToken(c.get("db"), viewer, c.req.valid("form").rotate === "1", now);
    // POST → redirect → GET: the token rides to the next page in a sealed cookie, which that page
    // shows once and deletes, so reloading it neither shows the token again nor rotates again.
    await handOver(c, viewer, token, now);
    return c.redirect(PATHS.scimSettings, 303);
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

/** The held burst of deactivations (src/db/scimHolds.ts): Apply deactivates them, Dismiss keeps them active. */
scimSettingsRoutes.post("/held/apply", managers, async (c) => {
  const notice = await applyScimHold(c.get("db"), viewerOf(c), Date.now());
  relayEvents(c);
  return render(c, { heldNotice: notice });
});

scimSettingsRoutes.post("/held/dismiss", managers, async (c) => {
  const notice = await dismissScimHold(c.get("db"), viewerOf(c), Date.now());
  return render(c, { heldNotice: notice });
});

/** Apply raised member.deactivated events: they go to the deliveries queue after the answer. */
function relayEvents(c: Context<AppContext>) {
  const queue = c.get("webhookDeliveries");
  if (!queue) return;
  try {
    c.executionCtx.waitUntil(relayAfterCommit(queue, { here: { db: c.get("primaryDb")(), now: Date.now() } }));
  } catch {
    // No execution context (a test calling the app directly): the nightly relay sends them.
  }
}
