// Settings → Webhooks (Owners and Admins). Adding, enabling, rotating, testing and redelivering
// need the Enterprise plan (403 otherwise); listing, disabling and deleting work on every plan, so
// an organization that left Enterprise still sees and can remove what it had (nothing is sent to
// it meanwhile: raising an event, the relay and the consumer check the plan). Everything is scoped to
// the session's organization: endpoint ids from the URL are looked up within it.
import { Hono } from "hono";
import { z } from "zod";
import { requirePlan, requireRole, viewerOf } from "../auth/access.ts";
import type { AppContext } from "../context.ts";
import { WEBHOOK_EVENT_TYPES } from "../db/schema.ts";
import { randomToken } from "../lib/crypto.ts";
import { tokenVault } from "../lib/vault.ts";
import { uuidParam } from "../lib/schemas.ts";
import { validate } from "../lib/validate.ts";
import { PATHS } from "../paths.ts";
import {
  addEndpoint,
  deleteEndpoint,
  loadEndpointPage,
  loadWebhooksPage,
  redeliver,
  rotateSecret,
  sendTestEvent,
  setEnabled,
} from "../events/endpoints.ts";
import { EndpointAlreadyAddedPage, EndpointPage, SigningSecretPage, WebhooksPage } from "../../views/pages/webhooks.tsx";

/** Mounted at PATHS.webhooks. */
export const webhookRoutes = new Hono<AppContext>();

const managers = requireRole("owner", "admin");
const onPlan = requirePlan("eventWebhooks");
const endpointParam = validate("param", z.object({ id: uuidParam }));
const PAGE = { title: "Webhooks", nav: "settings" } as const;

const FORM_OUT_OF_DATE = "This form is out of date. Reload the page and try again.";

const addEndpointForm = z.object({
  // The policy (https, no credentials…) is checked in the service; this bounds the field.
  url: z.string({ message: "Enter the Endpoint URL." }).max(2048, { message: "The Endpoint URL must be at most 2048 characters." }),
  eventTypes: z
    .union([z.string(), z.array(z.string())], { message: "Choose at least one event type." })
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .pipe(
      z
        .array(z.enum(WEBHOOK_EVENT_TYPES, { message: "That is not an event type UniAsset sends." }))
        .min(1, { message: "Choose at least one event type." })
        .transform((types) => [...new Set(types)]),
    ),
  // The page's one-time token (randomToken: 43 base64url characters): the same form sent twice adds
  // one endpoint (src/events/endpoints.ts, submissionKey).
  formToken: z.string({ message: FORM_OUT_OF_DATE }).regex(/^[A-Za-z0-9_-]{43}$/, { message: FORM_OUT_OF_DATE }),
});

webhookRoutes.get("/", managers, async (c) => {
  const viewer = viewerOf(c);
  const endpoints = await loadWebhooksPage(c.get("db"), viewer.organizationId);
  // A new token each time the form is shown: each showing may add one endpoint.
  return c.render(<WebhooksPage viewer={viewer} endpoints={endpoints} formToken={randomToken()} />, PAGE);
});

webhookRoutes.post("/", managers, onPlan, validate("form", addEndpointForm), async (c) => {
  const viewer = viewerOf(c);
  const config = c.get("config");
  const { url, eventTypes, formToken } = c.req.valid("form");
  const created = await addEndpoint(
    c.get("db"),
    tokenVault(config),
    viewer,
    { url, eventTypes, appOrigin: config.APP_ORIGIN, formToken },
    Date.now(),
  );
  if (!created.added) {
    // The form was sent again (a reload of the secret's page): nothing added, and no secret. 409, so
    // a script reading the status does not take this for a new endpoint.
    c.status(409);
    return c.render(<EndpointAlreadyAddedPage endpoint={created.endpoint} />, PAGE);
  }
  const endpoint = (await loadEndpointPage(c.get("db"), viewer.organizationId, created.endpointId)).endpoint;
  return c.render(<SigningSecretPage url={endpoint.url} endpointId={endpoint.id} secret={created.secret} rotated={false} />, PAGE);
});

webhookRoutes.get("/:id", managers, endpointParam, async (c) => {
  const viewer = viewerOf(c);
  const { endpoint, attempts } = await loadEndpointPage(c.get("db"), viewer.organizationId, c.req.valid("param").id);
  return c.render(<EndpointPage viewer={viewer} endpoint={endpoint} attempts={attempts} now={Date.now()} />, PAGE);
});

webhookRoutes.post("/:id/rotate", managers, onPlan, endpointParam, async (c) => {
  const viewer = viewerOf(c);
  const { id } = c.req.valid("param");
  const secret = await rotateSecret(c.get("db"), tokenVault(c.get("config")), viewer, id, Date.now());
  const { endpoint } = await loadEndpointPage(c.get("db"), viewer.organizationId, id);
  return c.render(<SigningSecretPage url={endpoint.url} endpointId={id} secret={secret} rotated />, PAGE);
});

const back = (id: string) => `${PATHS.webhooks}/${id}`;

webhookRoutes.post("/:id/disable", managers, endpointParam, async (c) => {
  const { id } = c.req.valid("param");
  await setEnabled(c.get("db"), viewerOf(c), id, false, Date.now());
  return c.redirect(back(id), 303);
});

webhookRoutes.post("/:id/enable", managers, onPlan, endpointParam, async (c) => {
  const { id } = c.req.valid("param");
  await setEnabled(c.get("db"), viewerOf(c), id, true, Date.now());
  return c.redirect(back(id), 303);
});

webhookRoutes.post("/:id/delete", managers, endpointParam, async (c) => {
  await deleteEndpoint(c.get("db"), viewerOf(c), c.req.valid("param").id, Date.now());
  return c.redirect(PATHS.webhooks, 303);
});

webhookRoutes.post("/:id/test", managers, onPlan, endpointParam, async (c) => {
  const { id } = c.req.valid("param");
  await sendTestEvent(c.get("db"), c.get("webhookDeliveries"), viewerOf(c), id, Date.now());
  return c.redirect(back(id), 303);
});

webhookRoutes.post(
  "/:id/redeliver",
  managers,
  onPlan,
  endpointParam,
  validate("form", z.object({ eventId: z.string().regex(/^msg_[0-9a-f]{32}$/, { message: "That is not an event id." }) })),
  async (c) => {
    const { id } = c.req.valid("param");
    await redeliver(c.get("db"), c.get("webhookDeliveries"), viewerOf(c), id, c.req.valid("form").eventId, Date.now());
    return c.redirect(back(id), 303);
  },
);
