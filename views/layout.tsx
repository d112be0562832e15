// The page frame: sidebar for signed-in people, the flash region htmx error fragments land in,
// and htmx loaded from our own assets (strict CSP: no inline script or style anywhere).
import type { Child } from "hono/jsx";
import { useRequestContext } from "hono/jsx-renderer";
import type { Viewer } from "../src/context.ts";
import type { AlertsState } from "../src/db/alertsState.ts";
import type { DirectoryAlert } from "../src/alerts/directoryAlerts.ts";
import { DirectoryAlertsSlot } from "./parts/directoryAlerts.tsx";
import { isOwnerOrAdmin } from "../src/auth/access.ts";
import { CsrfField } from "./parts/forms.tsx";
import { ASSET_PATHS, PATHS } from "../src/paths.ts";

export type NavSection = "home" | "users" | "settings" | "audit";

declare module "hono" {
  interface ContextRenderer {
    (content: string | Promise<string>, props: RenderProps): Response | Promise<Response>;
  }
}

export interface RenderProps {
  title: string;
  nav?: NavSection;
  /**
   * What the alerts banner shows when the page has read it already (the home page), so the
   * banner does not read it again; null for a page that must not read it (an error page).
   */
  alertsState?: AlertsState | null;
}

// htmx settings: no eval, no inline styles, and error responses are swapped too (into #flash,
// where the server retargets them) so a refused action always says why.
const HTMX_CONFIG = JSON.stringify({
  allowEval: false,
  allowScriptTags: false,
  includeIndicatorStyles: false,
  selfRequestsOnly: true,
  historyCacheSize: 0,
  responseHandling: [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "[45]..", swap: true, error: true },
  ],
});

export function Layout(props: { title: string; nav?: NavSection; alerts: DirectoryAlert[] | null; children?: Child }) {
  const viewer = useRequestContext().get("viewer") as Viewer | null;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content={HTMX_CONFIG} />
        <title>{`${props.title} · UniAsset`}</title>
        <link rel="stylesheet" href={ASSET_PATHS.stylesheet} />
        <script src={ASSET_PATHS.htmx} defer></script>
      </head>
      <body hx-headers={viewer ? JSON.stringify({ "X-CSRF-Token": viewer.csrfToken }) : undefined}>
        {viewer ? (
          <div class="shell">
            <Sidebar viewer={viewer} nav={props.nav} />
            <main class="content">
              <div id="flash" role="status" aria-live="polite"></div>
              <DirectoryAlertsSlot alerts={props.alerts} />
              {props.children}
            </main>
          </div>
        ) : (
          <main class="content narrow">
            <div id="flash" role="status" aria-live="polite"></div>
            {props.children}
          </main>
        )}
      </body>
    </html>
  );
}

function Sidebar(props: { viewer: Viewer; nav?: NavSection }) {
  const { viewer } = props;
  const manages = isOwnerOrAdmin(viewer.role);
  const link = (section: NavSection, href: string, label: string) => (
    <a href={href} class={props.nav === section ? "active" : undefined} aria-current={props.nav === section ? "page" : undefined}>
      {label}
    </a>
  );
  return (
    <nav class="sidebar" aria-label="Main">
      <div class="brand">UniAsset</div>
      <OrganizationSwitcher viewer={viewer} />
      {link("home", PATHS.home, "Home")}
      {viewer.role !== "viewer" && link("users", PATHS.users, "Users")}
      {manages && link("settings", PATHS.integrations, "Settings")}
      {manages && link("audit", PATHS.audit, "Audit log")}
      <div class="who">
        <span>{viewer.displayName}</span>
        <small>{viewer.email}</small>
        <form method="post" action={PATHS.signOut}>
          <CsrfField token={viewer.csrfToken} />
          <button type="submit" class="link">
            Sign out
          </button>
        </form>
      </div>
    </nav>
  );
}

function OrganizationSwitcher(props: { viewer: Viewer }) {
  const { viewer } = props;
  if (viewer.organizations.length < 2) return <div class="org">{viewer.organizationName}</div>;
  return (
    <form method="post" action={`${PATHS.organizations}/switch`} class="org">
      <CsrfField token={viewer.csrfToken} />
      <label for="organizationId">Organization</label>
      <select id="organizationId" name="organizationId">
        {viewer.organizations.map((org) => (
          <option value={org.id} selected={org.id === viewer.organizationId}>
            {org.name}
          </option>
        ))}
      </select>
      <button type="submit">Switch</button>
    </form>
  );
}
