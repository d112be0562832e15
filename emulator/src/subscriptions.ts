// Microsoft Graph change notifications on `users` and `groups`: POST/PATCH/DELETE /v1.0/subscriptions with the
// validation handshake, and delivery of Microsoft-shaped notifications when the admin API changes a
// user. Microsoft's pages this follows (emulator/README.md, "Change notifications"):
// - https://learn.microsoft.com/en-us/graph/api/subscription-post-subscriptions (create; permissions table:
//   `user` supports delegated User.Read.All)
// - https://learn.microsoft.com/en-us/graph/api/subscription-update (renew: PATCH expirationDateTime)
// - https://learn.microsoft.com/en-us/graph/api/subscription-delete (204 No Content)
// - https://learn.microsoft.com/en-us/graph/api/resources/subscription (maximum length of a subscription:
//   users 41,760 minutes, under 29 days)
// - https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks (validationToken,
//   text/plain 200 within 10 seconds; the changeNotificationCollection payload)
// - https://learn.microsoft.com/en-us/graph/change-notifications-lifecycle-events (lifecycleEvent)
// - https://learn.microsoft.com/en-us/graph/api/resources/webhooks (supported resources: group, with
//   /groups for changes to all groups; a member added or removed is an `updated` change of the
//   group, not of the user, so a membership change notifies `/groups` subscriptions only)
// - https://learn.microsoft.com/en-us/graph/api/resources/subscription (groups too: 41,760 minutes)
import { Hono } from "hono";
import type { EmulatorContext, EmulatorEnv } from "./env.ts";
import { graphError } from "./errors.ts";
import { allowsGraph } from "./scopes.ts";
import type { AccessGrant } from "./state.ts";
import type { Tenant } from "./directory.ts";
import { persist, unpersist } from "./storage.ts";

/** The `users` resource's documented maximum: 41,760 minutes (under 29 days). */
export const USERS_MAX_MINUTES = 41_760;
const VALIDATION_TIMEOUT_MS = 10_000;
const CHANGE_TYPES = ["created", "updated", "deleted"] as const;
export const LIFECYCLE_EVENTS = ["reauthorizationRequired", "subscriptionRemoved", "missed"] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

export interface Subscription {
  id: string;
  tenantId: string;
  applicationId: string;
  creatorId: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expiresAt: number;
}

/** What a delivery did: the tests and the admin API read it (never shown to the app). */
export interface Delivery {
  kind: "notification" | "lifecycle" | "validation";
  url: string;
  body: string | null;
  status: number | null;
  at: number;
}

export const notifications = {
  subscriptions: new Map<string, Subscription>(),
  /** The next `drop` change notifications are not sent (as if lost); `delayMs` holds each one back. */
  drop: 0,
  delayMs: 0,
  /** The last deliveries, newest last (at most 200). */
  sent: [] as Delivery[],
};

/** Subscriptions are Microsoft's state and survive a restart (storage.ts); drop, delay and the log are test instruments. */
function saveSubscription(subscription: Subscription): void {
  notifications.subscriptions.set(subscription.id, subscription);
  persist("subscription", subscription.id, subscription);
}

function removeSubscription(id: string): void {
  notifications.subscriptions.delete(id);
  unpersist("subscription", id);
}

/** Memory back to no subscriptions (storage is cleared by state.ts's resetAll, or read by restore.ts). */
export function resetNotifications(): void {
  notifications.subscriptions.clear();
  notifications.drop = 0;
  notifications.delayMs = 0;
  notifications.sent = [];
}

/**
 * POSTs to the app. In the workerd tests the app is reachable only through the APP service binding
 * (vitest.config.ts); under `npm start` and the browser tests the emulator is its own process and
 * reaches the app's origin over the loopback network.
 */
async function post(env: EmulatorEnv, delivery: Omit<Delivery, "status" | "at">, timeoutMs: number): Promise<Delivery> {
  const init: RequestInit = {
    method: "POST",
    headers: { "content-type": delivery.body === null ? "text/plain; charset=utf-8" : "application/json" },
    ...(delivery.body === null ? {} : { body: delivery.body }),
    signal: AbortSignal.timeout(timeoutMs),
  };
  const record: Delivery = { ...delivery, status: null, at: Date.now() };
  try {
    const target = new URL(delivery.url);
    const viaBinding = env.APP && target.origin === new URL(env.APP_ORIGIN).origin;
    const response = viaBinding ? await env.APP!.fetch(target.toString(), init) : await fetch(target, init);
    record.status = response.status;
    (record as Delivery & { answer?: string }).answer = await response.text();
  } catch {
    record.status = null;
  }
  notifications.sent.push(record);
  if (notifications.sent.length > 200) notifications.sent.shift();
  return record;
}

/** The handshake: POST url?validationToken=…, expect 200 and the token back as the body, within 10 s. */
async function validates(env: EmulatorEnv, url: string): Promise<boolean> {
  const token = `Validation: Testing client application reachability for subscription Request-Id: ${crypto.randomUUID()}`;
  const target = new URL(url);
  target.searchParams.set("validationToken", token);
  const result = await post(env, { kind: "validation", url: target.toString(), body: null }, VALIDATION_TIMEOUT_MS);
  return result.status === 200 && (result as Delivery & { answer?: string }).answer === token;
}

type Resource = "users" | "groups";

function resourceOf(value: string): Resource | null {
  if (/^\/?users\/?$/i.test(value)) return "users";
  if (/^\/?groups\/?$/i.test(value)) return "groups";
  return null;
}

function isAllowedUrl(value: unknown): value is string {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    // Microsoft requires HTTPS; the emulator also accepts plain http on a loopback host (local dev and tests).
    return url.protocol === "https:" || (url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname));
  } catch {
    return false;
  }
}

function representation(s: Subscription) {
  return {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
    id: s.id,
    resource: s.resource,
    applicationId: s.applicationId,
    changeType: s.changeType,
    clientState: s.clientState,
    notificationUrl: s.notificationUrl,
    lifecycleNotificationUrl: s.lifecycleNotificationUrl,
    expirationDateTime: new Date(s.expiresAt).toISOString(),
    creatorId: s.creatorId,
    latestSupportedTlsVersion: "v1_2",
    notificationUrlAppId: null,
    includeResourceData: false,
  };
}

/** An expiry Microsoft would accept: in the future and at most 41,760 minutes away. */
function readExpiry(value: unknown, now: number): number | "missing" | "past" | "too_far" {
  if (typeof value !== "string") return "missing";
  const at = Date.parse(value);
  if (Number.isNaN(at)) return "missing";
  if (at <= now) return "past";
  if (at > now + USERS_MAX_MINUTES * 60_000) return "too_far";
  return at;
}

const EXPIRY_MESSAGES = {
  missing: "expirationDateTime is a required property for subscription creation.",
  past: "Subscription expiration can only be in the future.",
  too_far: `Subscription expiration can only be ${USERS_MAX_MINUTES} minutes in the future.`,
};

type SubscriptionEnv = EmulatorContext & { Variables: { grant: AccessGrant; tenant: Tenant } };
export const subscriptionRoutes = new Hono<SubscriptionEnv>();

subscriptionRoutes.post("/v1.0/subscriptions", async (c) => {
  const grant = c.var.grant;
  let body: Record<string, unknown>;
  try {
    body = (await c.req.json()) as Record<string, unknown>;
  } catch {
    return graphError(c, 400, "InvalidRequest", "Unable to read the request body.");
  }
  const resource = resourceOf(typeof body.resource === "string" ? body.resource : "");
  if (!resource) return graphError(c, 400, "InvalidRequest", "Resource is not supported by the emulator: only 'users' and 'groups'.");
  // Permissions table of subscription-post-subscriptions: user → delegated User.Read.All, group →
  // delegated Group.Read.All (least privileged).
  if (!allowsGraph(resource, grant.scope))
    return graphError(c, 403, "ExtensionError", "Operation: Create; Exception: [Status Code: Forbidden; Reason: Insufficient privileges]");
  const changeTypes = typeof body.changeType === "string" ? body.changeType.split(",").map((t) => t.trim()) : [];
  if (changeTypes.length === 0 || !changeTypes.every((t) => (CHANGE_TYPES as readonly string[]).includes(t))) {
    return graphError(c, 400, "InvalidRequest", "changeType must be a comma-separated list of created, updated, deleted.");
  }
  if (!isAllowedUrl(body.notificationUrl)) return graphError(c, 400, "InvalidRequest", "The notificationUrl must be an https URL.");
  const lifecycleUrl = body.lifecycleNotificationUrl;
  if (lifecycleUrl !== undefined && lifecycleUrl !== null && !isAllowedUrl(lifecycleUrl)) {
    return graphError(c, 400, "InvalidRequest", "The lifecycleNotificationUrl must be an https URL.");
  }
  if (body.clientState !== undefined && (typeof body.clientState !== "string" || body.clientState.length > 128)) {
    return graphError(c, 400, "InvalidRequest", "clientState must be a string of at most 128 characters.");
  }
  const expiry = readExpiry(body.expirationDateTime, Date.now());
  if (typeof expiry === "string") return graphError(c, 400, "InvalidRequest", EXPIRY_MESSAGES[expiry]);
  // Microsoft validates every endpoint before it answers: notificationUrl, then lifecycleNotificationUrl.
  for (const url of [body.notificationUrl, ...(typeof lifecycleUrl === "string" ? [lifecycleUrl] : [])]) {
    if (!(await validates(c.env, url as string))) {
      return graphError(
        c,
        400,
        "ValidationError",
        "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
      );
    }
  }
  const subscription: Subscription = {
    id: crypto.randomUUID(),
    tenantId: grant.tenantId,
    applicationId: grant.clientId,
    creatorId: grant.oid,
    resource: typeof body.resource === "string" ? body.resource : "users",
    changeType: changeTypes.join(","),
    notificationUrl: body.notificationUrl as string,
    lifecycleNotificationUrl: typeof lifecycleUrl === "string" ? lifecycleUrl : null,
    clientState: typeof body.clientState === "string" ? body.clientState : null,
    expiresAt: expiry,
  };
  saveSubscription(subscription);
  return c.json(representation(subscription), 201);
});

/** A subscription of the caller's tenant and app, else Graph's 404. */
function ownSubscription(grant: AccessGrant, id: string): Subscription | undefined {
  const found = notifications.subscriptions.get(id);
  return found && found.tenantId === grant.tenantId && found.applicationId === grant.clientId ? found : undefined;
}

const notFound = (c: Parameters<typeof graphError>[0], id: string) =>
  graphError(c, 404, "ResourceNotFound", `The object was not found. Subscription '${id}' does not exist.`);

subscriptionRoutes.get("/v1.0/subscriptions/:id", (c) => {
  const found = ownSubscription(c.var.grant, c.req.param("id"));
  return found ? c.json(representation(found)) : notFound(c, c.req.param("id"));
});

subscriptionRoutes.patch("/v1.0/subscriptions/:id", async (c) => {
  const found = ownSubscription(c.var.grant, c.req.param("id"));
  if (!found) return notFound(c, c.req.param("id"));
  let body: Record<string, unknown>;
  try {
    body = (await c.req.json()) as Record<string, unknown>;
  } catch {
    return graphError(c, 400, "InvalidRequest", "Unable to read the request body.");
  }
  const expiry = readExpiry(body.expirationDateTime, Date.now());
  if (typeof expiry === "string") return graphError(c, 400, "InvalidRequest", EXPIRY_MESSAGES[expiry]);
  found.expiresAt = expiry;
  saveSubscription(found);
  return c.json(representation(found));
});

subscriptionRoutes.delete("/v1.0/subscriptions/:id", (c) => {
  const found = ownSubscription(c.var.grant, c.req.param("id"));
  if (!found) return notFound(c, c.req.param("id"));
  removeSubscription(found.id);
  return c.body(null, 204);
});

type ChangeType = (typeof CHANGE_TYPES)[number];

/** Subscriptions of a tenant on `resource` that want any of these change types and have not expired. */
function subscribersFor(tenantId: string, resource: Resource, changeTypes: readonly ChangeType[], now: number): Subscription[] {
  return [...notifications.subscriptions.values()].filter(
    (s) =>
      s.tenantId === tenantId &&
      resourceOf(s.resource) === resource &&
      s.expiresAt > now &&
      s.changeType.split(",").some((t) => changeTypes.includes(t as ChangeType)),
  );
}

/**
 * A user changed through the admin API: one changeNotificationCollection per subscription, as
 * Microsoft sends them (no resource data; `resourceData` names the user). Returns the deliveries'
 * promise, for the caller's waitUntil, so the admin call answers at once.
 */
export function notifyUserChanged(env: EmulatorEnv, tenantId: string, oid: string, changeType: "updated" | "deleted"): Promise<unknown> {
  return notifyChanged(env, tenantId, { resource: "users", id: oid }, [changeType]);
}

/**
 * A user created (adminUserCreate.ts): "Creation and soft-deletion of users also trigger the
 * `updated` changeType" (https://learn.microsoft.com/en-us/graph/api/resources/webhooks), so each
 * subscription gets a `created` item if it asked for `created`, and an `updated` one if it asked
 * for `updated`, in one collection.
 */
export function notifyUserCreated(env: EmulatorEnv, tenantId: string, oid: string): Promise<unknown> {
  return notifyChanged(env, tenantId, { resource: "users", id: oid }, ["created", "updated"]);
}

/** A group's members changed (or the group itself): `updated` on Groups/{id} to `/groups` subscriptions. */
export function notifyGroupChanged(env: EmulatorEnv, tenantId: string, groupId: string): Promise<unknown> {
  return notifyChanged(env, tenantId, { resource: "groups", id: groupId }, ["updated"]);
}

const RESOURCE_NAMES = {
  users: { path: "Users", type: "#Microsoft.Graph.User" },
  groups: { path: "Groups", type: "#Microsoft.Graph.Group" },
} as const;

function notifyChanged(
  env: EmulatorEnv,
  tenantId: string,
  changed: { resource: Resource; id: string },
  changeTypes: readonly ChangeType[],
): Promise<unknown> {
  const now = Date.now();
  const targets = subscribersFor(tenantId, changed.resource, changeTypes, now);
  const { path, type } = RESOURCE_NAMES[changed.resource];
  const oid = changed.id;
  return Promise.all(
    targets.map(async (s) => {
      if (notifications.drop > 0) {
        notifications.drop--;
        return;
      }
      const wanted = s.changeType.split(",");
      const body = JSON.stringify({
        value: changeTypes
          .filter((changeType) => wanted.includes(changeType))
          .map((changeType) => ({
            subscriptionId: s.id,
            subscriptionExpirationDateTime: new Date(s.expiresAt).toISOString(),
            changeType,
            resource: `${path}/${oid}`,
            resourceData: { "@odata.type": type, "@odata.id": `${path}/${oid}`, id: oid, organizationId: tenantId },
            clientState: s.clientState,
            tenantId,
          })),
      });
      if (notifications.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, notifications.delayMs));
      await post(env, { kind: "notification", url: s.notificationUrl, body }, VALIDATION_TIMEOUT_MS);
    }),
  );
}

/** Sends a lifecycle notification; `subscriptionRemoved` also removes the subscription, as Microsoft has. */
export async function sendLifecycleEvent(env: EmulatorEnv, id: string, event: LifecycleEvent): Promise<Delivery | undefined> {
  const s = notifications.subscriptions.get(id);
  if (!s?.lifecycleNotificationUrl) return undefined;
  if (event === "subscriptionRemoved") removeSubscription(id);
  const body = JSON.stringify({
    value: [
      {
        subscriptionId: s.id,
        subscriptionExpirationDateTime: new Date(s.expiresAt).toISOString(),
        tenantId: s.tenantId,
        clientState: s.clientState,
        lifecycleEvent: event,
      },
    ],
  });
  return post(env, { kind: "lifecycle", url: s.lifecycleNotificationUrl, body }, VALIDATION_TIMEOUT_MS);
}

export function subscriptionList() {
  return [...notifications.subscriptions.values()].map((s) => ({ ...representation(s), tenantId: s.tenantId }));
}
