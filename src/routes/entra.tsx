// Settings → Integrations → Microsoft Entra ID. Owners and Admins only; on other plans the page
// explains and every endpoint that acts refuses (403). Everything is scoped to the session's
// organization: no organization id is ever taken from the URL or a form.
import { Hono } from "hono";
import { z } from "zod";
import { checkPlanHas, requirePlan, requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import type { EntraFeature } from "../db/connections.ts";
import { FEATURE_PLANS, findConnectionSummary } from "../db/connections.ts";
import {
  completeEntraConnection,
  connectRedirectUri,
  disconnectEntra,
  refreshMissingTenantDetails,
  setEntraFeature,
} from "../entra/connection.ts";
import { CONNECTION_FAILURES } from "../entra/connectionErrors.ts";
import { createSetupLink, revokeSetupLinkOf } from "../entra/setupLink.ts";
import { startFlow, takeFlow, useFlowOnce } from "../auth/flows.ts";
import { ENTRA_CONNECT_SCOPE, OAuthFlowError, resolveMicrosoftTenant } from "../auth/oauth.ts";
import { listSetupLinks } from "../db/setupLinks.ts";
import { hasUsableToken } from "../db/scimTokens.ts";
import { AppError } from "../lib/errors.ts";
import { tenantField, uuidParam } from "../lib/schemas.ts";
import { validate } from "../lib/validate.ts";
import { ENTRA_FEATURE_SLUGS, PATHS } from "../paths.ts";
import { planHas } from "../plans.ts";
import { fragmentOrPage, fragmentOrRedirect, isHtmx } from "./respond.tsx";
import { DisconnectConfirmation, EntraPage, FeatureToggle } from "../../views/pages/entra.tsx";
import { SetupLinkCard } from "../../views/pages/entraSetup.tsx";
import { MappingStateHint } from "../../views/pages/entraMapping.tsx";
import { ENTRA_SETTINGS_CHANGED } from "../../views/parts/forms.tsx";

/** Mounted at PATHS.entra. */
export const entraRoutes = new Hono<AppContext>();

/** Mounted at PATHS.entraCallback: Microsoft's return from Connect Entra ID. */
export const entraCallbackRoutes = new Hono<AppContext>();

/**
 * An organization's directory is its Entra ID connection or SCIM, never both (issue 21): while a
 * SCIM token works, connecting (directly or through a setup link) is refused. Checked when the
 * round trip starts; the SCIM page refuses a token while a connection exists.
 */
async function refuseWhileScim(db: Parameters<typeof hasUsableToken>[0], organizationId: string) {
  if (await hasUsableToken(db, organizationId, Date.now())) {
    throw new AppError(
      "conflict",
      "This organization's directory is SCIM provisioning. Revoke its SCIM tokens first (Settings → Integrations → SCIM provisioning) to connect Entra ID: members and roles stay.",
    );
  }
}

const PAGE = PATHS.entra;
const managers = requireRole("owner", "admin");
const directorySync = requirePlan("directorySync");

const featureBySlug = Object.fromEntries(Object.entries(ENTRA_FEATURE_SLUGS).map(([feature, slug]) => [slug, feature])) as Record<
  string,
  EntraFeature
>;

entraRoutes.get(
  "/",
  managers,
  validate(
    "query",
    z.object({
      failure: z.enum(CONNECTION_FAILURES).optional().catch(undefined),
      code: z
        .string()
        .regex(/^AADSTS\d{5,7}$/)
        .optional()
        .catch(undefined),
    }),
  ),
  async (c) => {
    const viewer = viewerOf(c);
    const db = c.get("db");
    let connection = await findConnectionSummary(db, viewer.organizationId);
    if (planHas(viewer.plan, "directorySync") && connection?.status === "connected" && !connection.tenantName) {
      connection = await refreshMissingTenantDetails(db, c.get("config"), viewer.organizationId, Date.now());
    }
    const { failure, code } = c.req.valid("query");
    const setupLinks = planHas(viewer.plan, "directorySync") ? await listSetupLinks(db, viewer.organizationId) : [];
    return c.render(
      <EntraPage
        viewer={viewer}
        connection={connection ?? null}
        failure={failure ?? null}
        microsoftCode={code ?? null}
        setupLinks={setupLinks}
        now={Date.now()}
      />,
      { title: "Microsoft Entra ID", nav: "settings" },
    );
  },
);

entraRoutes.post("/connect", managers, directorySync, validate("form", z.object({ tenant: tenantField })), async (c) => {
  const viewer = viewerOf(c);
  const config = c.get("config");
  await refuseWhileScim(c.get("db"), viewer.organizationId);
  // A named tenant selects the tenant-specific authority: a guest admin (an outside consultant)
  // then gets a token for the tenant they mean, not their home tenant.
  const named = c.req.valid("form").tenant;
  let tenantId: string | undefined;
  if (named) {
    try {
      tenantId = await resolveMicrosoftTenant(config, named);
    } catch (error) {
      if (!(error instanceof OAuthFlowError)) throw error;
      return c.redirect(`${PAGE}?failure=${error.kind === "unknown_tenant" ? "unknown_tenant" : "provider_unavailable"}`, 303);
    }
  }
  const location = await startFlow(c, {
    purpose: "connect_entra",
    provider: "microsoft",
    redirectUri: connectRedirectUri(config),
    scope: ENTRA_CONNECT_SCOPE,
    organizationId: viewer.organizationId,
    userId: viewer.userId,
    tenantId,
  });
  return c.redirect(location, 302);
});

entraCallbackRoutes.get("/", managers, directorySync, async (c) => {
  const viewer = viewerOf(c);
  let flow;
  try {
    flow = await takeFlow(c, "connect_entra");
    await useFlowOnce(c.get("db"), flow);
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
  "/features/:slug",
  managers,
  directorySync,
  validate(
    "param",
    z.object({ slug: z.enum(Object.values(ENTRA_FEATURE_SLUGS) as [string, ...string[]], { message: "Unknown setting." }) }),
  ),
  validate("form", z.object({ enabled: z.enum(["true", "false"], { message: "Choose on or off." }) })),
  async (c) => {
    const viewer = viewerOf(c);
    const feature = featureBySlug[c.req.valid("param").slug]!;
    checkPlanHas(viewer, FEATURE_PLANS[feature]);
    const enabled = c.req.valid("form").enabled === "true";
    await setEntraFeature(c.get("db"), c.get("config"), viewer, feature, enabled, Date.now());
    if (isHtmx(c)) {
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

// The Azure-admin setup link: created and revoked by Owners and Admins on Enterprise.
entraRoutes.post("/setup-link", managers, directorySync, async (c) => {
  const viewer = viewerOf(c);
  const db = c.get("db");
  const now = Date.now();
  await refuseWhileScim(db, viewer.organizationId);
  const created = await createSetupLink(db, c.get("config"), viewer, now);
  const links = await listSetupLinks(db, viewer.organizationId);
  const card = <SetupLinkCard viewer={viewer} links={links} created={created} now={now} />;
  // The URL exists only in this response: a full-page form post gets a page that shows it too.
  if (isHtmx(c)) return c.html(card);
  return c.render(
    <section>
      <h1>Microsoft Entra ID</h1>
      {card}
      <p>
        <a href={PAGE}>Back to Microsoft Entra ID</a>
      </p>
    </section>,
    {
      title: "Setup link",
      nav: "settings",
    },
  );
});

entraRoutes.post("/setup-link/:id/revoke", managers, directorySync, validate("param", z.object({ id: uuidParam })), async (c) => {
  const viewer = viewerOf(c);
  const db = c.get("db");
  const now = Date.now();
  await revokeSetupLinkOf(db, viewer, c.req.valid("param").id, now);
  return fragmentOrRedirect(
    c,
    async () => <SetupLinkCard viewer={viewer} links={await listSetupLinks(db, viewer.organizationId)} now={now} />,
    PAGE,
  );
});

// Disconnecting stays possible on every plan: a downgraded organization can still remove its tokens.
entraRoutes.get("/disconnect", managers, (c) => {
  const viewer = viewerOf(c);
  return fragmentOrPage(c, <DisconnectConfirmation viewer={viewer} />, { title: "Disconnect Microsoft Entra ID", nav: "settings" });
});

entraRoutes.post("/disconnect", managers, async (c) => {
  await disconnectEntra(c.get("db"), c.get("config"), viewerOf(c), Date.now());
  return c.redirect(PAGE, 303);
});
