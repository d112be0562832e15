// The Azure administrator's side of the setup link: no session needed, the link's secret is the
// key. GET shows the request (writes nothing), POST leaves for Microsoft's admin consent endpoint,
// and the callback records the outcome for the organization's admins.
import { Hono } from "hono";
import { z } from "zod";
import { saveFlow, takeFlow, useFlowOnce } from "../auth/flows.ts";
import { GUID, buildAdminConsentUrl, resolveNamedTenant } from "../auth/oauth.ts";
import type { AppContext } from "../context.ts";
import { completeSetupConsent, openSetupLink, recordConsentStarted, setupRedirectUri, type AdminConsentReply } from "../entra/setupLink.ts";
import { randomToken, timingSafeEqual } from "../lib/crypto.ts";
import { AppError } from "../lib/errors.ts";
import { tenantField } from "../lib/schemas.ts";
import { validate } from "../lib/validate.ts";
import { SetupLinkPage, SetupOutcomePage } from "../../views/pages/entraSetup.tsx";

/** Mounted at PATHS.setup; the link itself is `${APP_ORIGIN}${PATHS.setup}/<secret>`. */
export const setupRoutes = new Hono<AppContext>();

/**
 * Mounted at PATHS.setupCallback: Microsoft's return from admin consent. It lies under the link's
 * `/:token` too; app.tsx mounts the deeper base first, so "callback" is never taken for a secret.
 */
export const setupCallbackRoutes = new Hono<AppContext>();

const tokenParam = z.object({ token: z.string().max(64, { message: "This setup link is not valid." }) });

// Microsoft's documented replies (https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#successful-response,
// #error-response): `admin_consent=True&tenant&scope&state`, or `error&error_description&state`
// (Microsoft's own error example also carries admin_consent=True, so `error` is checked first).
const consentReply = z.union(
  [
    z.object({
      error: z.string().regex(/^[a-z_]{1,64}$/),
      error_description: z.string().max(4096).optional(),
      error_subcode: z.string().max(64).optional(),
      state: z.string().min(1).max(512),
    }),
    z.object({
      admin_consent: z.string().regex(/^true$/i),
      tenant: z
        .string()
        .regex(GUID)
        .transform((id) => id.toLowerCase()),
      state: z.string().min(1).max(512),
      scope: z.string().max(4096).optional(),
    }),
  ],
  { message: "Microsoft's reply could not be read. Open the setup link again." },
);

setupCallbackRoutes.get("/", validate("query", consentReply), async (c) => {
  const query = c.req.valid("query");
  const flow = await takeFlow(c, "setup_consent");
  if (!flow.setupLinkId || !timingSafeEqual(query.state, flow.state)) {
    throw new AppError("invalid_input", "This reply from Microsoft does not match the consent you started. Open the setup link again.");
  }
  await useFlowOnce(c.get("db"), flow);
  const reply: AdminConsentReply =
    "tenant" in query
      ? { granted: true, tenantId: query.tenant }
      : { granted: false, error: query.error, description: query.error_description ?? null };
  // Asked of one tenant's own authority, Microsoft answers for that tenant: any other is not ours.
  if (reply.granted && flow.tenantId && reply.tenantId !== flow.tenantId) {
    throw new AppError("invalid_input", "Microsoft's reply names another tenant than the one you entered. Open the setup link again.");
  }
  const outcome = await completeSetupConsent(c.get("db"), flow.setupLinkId, reply, Date.now());
  return c.render(<SetupOutcomePage outcome={outcome} />, { title: "Microsoft Entra ID setup" });
});

setupRoutes.get("/:token", validate("param", tokenParam), async (c) => {
  const link = await openSetupLink(c.get("db"), c.req.valid("param").token, Date.now());
  return c.render(
    <SetupLinkPage
      organizationName={link.organizationName}
      createdByName={link.createdByName}
      expiresAt={link.expiresAt}
      token={c.req.valid("param").token}
      csrfToken={c.get("viewer")?.csrfToken ?? null}
    />,
    { title: "Connect Microsoft Entra ID" },
  );
});

setupRoutes.post("/:token", validate("param", tokenParam), validate("form", z.object({ tenant: tenantField })), async (c) => {
  const db = c.get("db");
  const config = c.get("config");
  const now = Date.now();
  const link = await openSetupLink(db, c.req.valid("param").token, now);
  // A guest administrator (an outside consultant) names the tenant: through `organizations`,
  // Microsoft would sign them in to their home tenant and consent there.
  const named = c.req.valid("form").tenant;
  const tenantId = named ? await resolveNamedTenant(config, named) : undefined;
  const state = randomToken();
  // Only `state` matters to the admin consent endpoint; nonce and verifier are unused placeholders.
  await saveFlow(
    c,
    { purpose: "setup_consent", organizationId: link.organizationId, setupLinkId: link.id, tenantId },
    { state, nonce: "-", codeVerifier: "-" },
  );
  await recordConsentStarted(db, link, now);
  return c.redirect(buildAdminConsentUrl(config, { redirectUri: setupRedirectUri(config), state, tenantId }).toString(), 302);
});
