// What Owners and Admins do on Settings → Webhooks: add an endpoint (its secret shown once; one
// endpoint per submission of the form), rotate the secret, disable, enable, delete, send a test
// event, redeliver an event. Always the viewer's own organization; every change audited. Secrets
// live only sealed in the token vault.
import type { Viewer } from "../context.ts";
import { insertAuditEvent } from "../db/audit.ts";
import type { Db } from "../db/client.ts";
import type { WebhookEventType } from "../db/schema.ts";
import { runStatements } from "../db/statements.ts";
import {
  auditEndpointAdded,
  deleteEndpointStatements,
  eventTypesOf,
  findEndpoint,
  findEndpointBySubmission,
  findEventOf,
  insertEndpointWithinLimit,
  insertTestEvent,
  listAttempts,
  listEndpoints,
  MANUAL_SEND_INTERVAL_MS,
  rotateEndpointSecret,
  setEndpointEnabled,
  takeManualSendSlot,
  type EndpointSummary,
} from "../db/webhooks.ts";
import { sha256Base64url } from "../lib/crypto.ts";
import { AppError } from "../lib/errors.ts";
import type { TokenVault } from "../lib/vault.ts";
import { eventPayload } from "../eventCatalogue.ts";
import type { DeliveryQueue } from "./queue.ts";
import { newSigningSecret } from "./signature.ts";
import { checkEndpointUrl } from "./urlPolicy.ts";

/** Endpoints an organization may have: enough for a few systems, few enough to fan out cheaply. */
export const MAX_ENDPOINTS = 10;

function sealSecret(vault: TokenVault, organizationId: string, endpointId: string, secret: string) {
  return vault.seal(secret, { organizationId, tenantId: endpointId, field: "webhook_secret" });
}

export async function loadWebhooksPage(db: Db, organizationId: string) {
  return listEndpoints(db, organizationId);
}

export async function loadEndpointPage(db: Db, organizationId: string, endpointId: string) {
  const endpoint = await findEndpoint(db, organizationId, endpointId);
  if (!endpoint) throw new AppError("not_found", "That endpoint does not exist.");
  return { endpoint, attempts: await listAttempts(db, organizationId, endpointId) };
}

/**
 * What one Add endpoint submission is: the session, the form's one-time token (a new one each time
 * the Webhooks page is shown), and what it asks for. Sending the same form again (reloading the page
 * that shows the secret, a double click, a retried request) gives the same key, so it adds nothing;
 * the same form sent with another URL or other types (Back, then edited) is a new endpoint. Bound to
 * the session, so a token seen elsewhere cannot stand for this Admin's submission. Only the hash is
 * stored.
 */
function submissionKey(
  viewer: Viewer,
  input: { formToken: string; eventTypes: readonly WebhookEventType[] },
  url: string,
): Promise<string> {
  return sha256Base64url(
    JSON.stringify(["webhook.endpoint_added", viewer.sessionHash, input.formToken, url, [...input.eventTypes].sort()]),
  );
}

export type AddedEndpoint =
  | { added: true; endpointId: string; secret: string }
  /** This submission had already added `endpoint`: its secret was shown then, and is not again. */
  | { added: false; endpoint: EndpointSummary };

/** Creates the endpoint and returns its signing secret: the only time anyone sees it. */
export async function addEndpoint(
  db: Db,
  vault: TokenVault,
  viewer: Viewer,
  input: { url: string; eventTypes: WebhookEventType[]; appOrigin: string; formToken: string },
  now: number,
): Promise<AddedEndpoint> {
  const checked = checkEndpointUrl(input.url, input.appOrigin);
  if (!checked.ok) throw new AppError("invalid_input", checked.message);
  const endpointId = crypto.randomUUID();
  const secret = newSigningSecret();
  const endpoint = { id: endpointId, organizationId: viewer.organizationId, url: checked.url, eventTypes: input.eventTypes };
  const key = await submissionKey(viewer, input, checked.url);
  // The limit and the resubmission are checked by the insert itself (and the audit row follows it),
  // never by a read before: two additions at 9 endpoints, or one form sent twice at once, would
  // both pass such a read.
  const [inserted] = await runStatements(db, [
    insertEndpointWithinLimit(
      {
        ...endpoint,
        secretEnc: await sealSecret(vault, viewer.organizationId, endpointId, secret),
        submissionKey: key,
        createdBy: viewer.userId,
        now,
      },
      MAX_ENDPOINTS,
    ),
    auditEndpointAdded(endpoint, viewer.userId, now),
  ]);
  if (inserted?.meta.changes === 1) return { added: true, endpointId, secret };
  const already = await findEndpointBySubmission(db, viewer.organizationId, key);
  if (already) return { added: false, endpoint: already };
  throw new AppError("conflict", `An organization can have at most ${MAX_ENDPOINTS} endpoints. Delete one first.`);
}

async function endpointOf(db: Db, viewer: Viewer, endpointId: string) {
  const endpoint = await findEndpoint(db, viewer.organizationId, endpointId);
  if (!endpoint) throw new AppError("not_found", "That endpoint does not exist.");
  return endpoint;
}

/** A new secret signs from now on; the old one keeps signing beside it for 24 h. */
export async function rotateSecret(db: Db, vault: TokenVault, viewer: Viewer, endpointId: string, now: number): Promise<string> {
  const endpoint = await endpointOf(db, viewer, endpointId);
  const secret = newSigningSecret();
  await runStatements(db, [
    rotateEndpointSecret(db, viewer.organizationId, endpoint.id, await sealSecret(vault, viewer.organizationId, endpoint.id, secret), now),
    insertAuditEvent(db, {
      organizationId: viewer.organizationId,
      actorUserId: viewer.userId,
      action: "webhook.secret_rotated",
      details: { endpointId, url: endpoint.url },
      now,
    }),
  ]);
  return secret;
}

export async function setEnabled(db: Db, viewer: Viewer, endpointId: string, enabled: boolean, now: number) {
  const endpoint = await endpointOf(db, viewer, endpointId);
  if (endpoint.enabled === enabled) return;
  await runStatements(db, [
    setEndpointEnabled(db, viewer.organizationId, endpointId, enabled, now),
    insertAuditEvent(db, {
      organizationId: viewer.organizationId,
      actorUserId: viewer.userId,
      action: enabled ? "webhook.endpoint_enabled" : "webhook.endpoint_disabled",
      details: { endpointId, url: endpoint.url },
      now,
    }),
  ]);
}

export async function deleteEndpoint(db: Db, viewer: Viewer, endpointId: string, now: number) {
  const endpoint = await endpointOf(db, viewer, endpointId);
  await runStatements(db, [
    ...deleteEndpointStatements(db, viewer.organizationId, endpointId),
    insertAuditEvent(db, {
      organizationId: viewer.organizationId,
      actorUserId: viewer.userId,
      action: "webhook.endpoint_deleted",
      details: { endpointId, url: endpoint.url },
      now,
    }),
  ]);
}

/**
 * Refuses (429) a second Send test event or Redeliver to the endpoint's URL within
 * MANUAL_SEND_INTERVAL_MS, from any endpoint of the organization, deleted or not.
 */
async function paceManualSend(db: Db, viewer: Viewer, url: string, now: number) {
  if (!(await takeManualSendSlot(db, viewer.organizationId, url, now))) {
    throw new AppError(
      "too_soon",
      `This endpoint's URL was sent a test event or a redelivery less than ${MANUAL_SEND_INTERVAL_MS / 1000} seconds ago. Wait a few seconds, then try again.`,
    );
  }
}

/** A `webhook.test` event for this endpoint alone, delivered like any other. */
export async function sendTestEvent(db: Db, queue: DeliveryQueue, viewer: Viewer, endpointId: string, now: number) {
  const endpoint = await endpointOf(db, viewer, endpointId);
  if (!endpoint.enabled) throw new AppError("conflict", "Enable the endpoint before sending it a test event.");
  await paceManualSend(db, viewer, endpoint.url, now);
  const id = `msg_${crypto.randomUUID().replaceAll("-", "")}`;
  const payload = eventPayload("webhook.test", { organization_id: viewer.organizationId, endpoint_id: endpointId }, now);
  await runStatements(db, [insertTestEvent(db, { id, organizationId: viewer.organizationId, payload, now })]);
  await queue.send({ eventId: id, endpointId, queuedAt: now });
}

/** Queues one event for this endpoint again, with the same webhook-id, a fresh 24 h of retries. */
export async function redeliver(db: Db, queue: DeliveryQueue, viewer: Viewer, endpointId: string, eventId: string, now: number) {
  const endpoint = await endpointOf(db, viewer, endpointId);
  if (!endpoint.enabled) throw new AppError("conflict", "Enable the endpoint before redelivering to it.");
  const event = await findEventOf(db, viewer.organizationId, eventId);
  if (!event) throw new AppError("not_found", "That event is no longer kept.");
  // Only what this endpoint would have been sent: a type it subscribes to, or its own test event.
  const subscribed =
    event.type === "webhook.test" ? event.testEndpointId === endpoint.id : eventTypesOf(endpoint.eventTypes).includes(event.type);
  if (!subscribed) {
    throw new AppError(
      "invalid_input",
      event.type === "webhook.test"
        ? "That test event was sent to another endpoint."
        : `This endpoint does not subscribe to ${event.type} events.`,
    );
  }
  await paceManualSend(db, viewer, endpoint.url, now);
  await queue.send({ eventId: event.id, endpointId, queuedAt: now });
}
