// Settings → Integrations → Microsoft Entra ID. Owners and Admins only; on other plans the page
// explains and every endpoint that acts refuses (403). Everything is scoped to the session's
// organization: no organization id is ever taken from the URL or a form.
import { Hono } from "hono";
import { z } from "zod";
import { requirePlan, requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import type { EntraFeature } from "../db/connections.ts";
import { findConnectionSummary } from "../db/connections.ts";
import { completeEntraConnection, connectRedirectUri, disconnectEntra, refreshMissingTenantDetails, setEntraFeature } from "../entra/connection.ts";
import { CONNECTION_FAILURES } from "../entra/connectionErrors.ts";
import { ENTRA_CONNECT_SCOPE } from "../auth/oauth.ts";
import { AppError } from "../lib/errors.ts";
import { validate } from "../lib/validate.ts";
import { startFlow, takeFlow } from "./auth.tsx";
import { DisconnectConfirmation, EntraPage, FEATURE_SLUGS, FeatureToggle } from "../../views/pages/entra.tsx";
import { MappingStateHint } from "../../views/pages/entraMapping.tsx";
import { ENTRA_SETTINGS_CHANGED } from "../../views/parts/forms.tsx";

export const entraRoutes = new Hono<AppContext>();

const PAGE = "/settings/integrations/entra";
const managers = requireRole("owner", "admin");
const enterprise = requirePlan("enterprise");

const featureBySlug = Object.fromEntries(Object.entries(FEATURE_SLUGS).map(([feature, slug]) => [slug, feature])) as Record<
  string,
  EntraFeature
>;

entraRoutes.get(
  PAGE,
  managers,
  validate(
    "query",
    z.object({
      failure: z.enum(CONNECTION_FAILURES).optional().catch(undefined),
      code: z.string().regex(/^AADSTS\d{5,7}$/).optional().catch(undefined),
    }),
  ),
  async (c) => {
    const viewer = viewerOf(c);
    const db = c.get("db");
    let connection = await findConnectionSummary(db, viewer.organizationId);
    if (viewer.plan === "enterprise" && connection?.status === "connected" && !connection.tenantName) {
      connection = await refreshMissingTenantDetails(db, c.get("config"), viewer.organizationId, Date.now());
    }
    const { failure, code } = c.req.valid("query");
    return c.render(<EntraPage viewer={viewer} connection={connection ?? null} failure={failure ?? null} microsoftCode={code ?? null} />, {
      title: "Microsoft Entra ID",
      nav: "settings",
    });
  },
);

entraRoutes.post(`${PAGE}/connect`, managers, enterprise, async (c) => {
  const viewer = viewerOf(c);
  const location = await startFlow(c, {
    purpose: "connect_entra",
    provider: "microsoft",
    redirectUri: connectRedirectUri(c.get("config")),
    scope: ENTRA_CONNECT_SCOPE,
    organizationId: viewer.organizationId,
    userId: viewer.userId,
  });
  return c.redirect(location, 302);
});

entraRoutes.get(`${PAGE}/callback`, managers, enterprise, async (c) => {
  const viewer = viewerOf(c);
  let flow;
  try {
    flow = await takeFlow(c, "connect_entra");
  } catch (error) {
    if (error instanceof AppError) return c.redirect(`${PAGE}?failure=state_mismatch`, 303);
    throw error;
  }
  const outcome = await completeEntraConnection(c.get("db"), c.get("config"), viewer, new URL(c.req.url), flow, Date.now());
  if (outcome.ok) return c.redirect(PAGE, 303);
  const code = outcome.microsoftCode ? `&code=${outcome.microsoftCode}` : "";
  return c.redirect(`${PAGE}?failure=${outcome.failure}${code}`, 303);
});

entraRoutes.post(
  `${PAGE}/features/:slug`,
  managers,
  enterprise,
  validate("param", z.object({ slug: z.enum(Object.values(FEATURE_SLUGS) as [string, ...string[]], { message: "Unknown setting." }) })),
  validate("form", z.object({ enabled: z.enum(["true", "false"], { message: "Choose on or off." }) })),
  async (c) => {
    const viewer = viewerOf(c);
    const feature = featureBySlug[c.req.valid("param").slug]!;
    const enabled = c.req.valid("form").enabled === "true";
    await setEntraFeature(c.get("db"), viewer, feature, enabled, Date.now());
    if (c.req.header("HX-Request") === "true") {
      // The sync section's buttons depend on the toggles: it re-renders on this event. The mapping
      // editor only updates its one line of status, so a half-typed search survives.
      c.header("HX-Trigger", ENTRA_SETTINGS_CHANGED);
      return c.html(
        <>
          <FeatureToggle viewer={viewer} feature={feature} enabled={enabled} />
          {feature === "groupRoleMapping" && <MappingStateHint on={enabled} outOfBand />}
        </>,
      );
    }
    return c.redirect(PAGE, 303);
  },
);

// Disconnecting stays possible on every plan: a downgraded organization can still remove its tokens.
entraRoutes.get(`${PAGE}/disconnect`, managers, (c) => {
  const viewer = viewerOf(c);
  if (c.req.header("HX-Request") === "true") return c.html(<DisconnectConfirmation viewer={viewer} />);
  return c.render(<DisconnectConfirmation viewer={viewer} />, { title: "Disconnect Microsoft Entra ID", nav: "settings" });
});

entraRoutes.post(`${PAGE}/disconnect`, managers, async (c) => {
  await disconnectEntra(c.get("db"), viewerOf(c), Date.now());
  return c.redirect(PAGE, 303);
});
