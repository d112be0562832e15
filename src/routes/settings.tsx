// Settings → Organization and Settings → Integrations (Owners and Admins only).
import { Hono } from "hono";
import { requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { findConnectionSummary } from "../db/connections.ts";
import { IntegrationsPage, OrganizationSettingsPage } from "../../views/pages/settings.tsx";

/** Mounted at PATHS.settings. */
export const settingsRoutes = new Hono<AppContext>();

const managers = requireRole("owner", "admin");

settingsRoutes.get("/", managers, (c) =>
  c.render(<OrganizationSettingsPage viewer={viewerOf(c)} />, { title: "Settings", nav: "settings" }),
);

settingsRoutes.get("/integrations", managers, async (c) => {
  const viewer = viewerOf(c);
  const connection = await findConnectionSummary(c.get("db"), viewer.organizationId);
  return c.render(<IntegrationsPage viewer={viewer} connection={connection ?? null} />, {
    title: "Integrations",
    nav: "settings",
  });
});
