// The admin API under /_emulator/: tests, `npm start` users and the benchmark change the
// directory, inject faults and read request counts through it. JSON in, JSON out.
import { Hono, type Context } from "hono";
import {
  addGroup,
  changeUser,
  createUser,
  directory,
  findGroup,
  grantConsent,
  locateUser,
  renameGroup,
  withdrawConsent,
  type DirectoryGroup,
  type Tenant,
} from "./directory.ts";
import type { EmulatorContext } from "./env.ts";
import { ENDPOINT_NAMES } from "./faults.tsx";
import {
  expireAccessTokens,
  expireDeltaTokens,
  expireRefreshTokens,
  GROUP_MEMBERSHIP_CLAIMS,
  resetAll,
  revokeRefreshTokens,
  setAdminConsentWorkflow,
  setRegistration,
  state,
  TAMPER_KINDS,
  type GroupMembershipClaims,
  type TamperKind,
} from "./state.ts";
import { restoreFromStorage } from "./restore.ts";
import { createSyntheticTenant, type SyntheticTenantSpec } from "./synthetic.ts";
import { recordJoined, recordNestedGroup, setMembership } from "./groupMembership.ts";
import {
  LIFECYCLE_EVENTS,
  notifications,
  notifyGroupChanged,
  notifyUserChanged,
  resetNotifications,
  sendLifecycleEvent,
  subscriptionList,
  type LifecycleEvent,
} from "./subscriptions.ts";

export const admin = new Hono<EmulatorContext>().basePath("/_emulator");

type Body = Record<string, unknown>;
const invalid = (c: Context, message: string) => c.json({ error: "invalid_request", message }, 400);
const missing = (c: Context, what: string) => c.json({ error: "not_found", message: `${what} not found` }, 404);

async function jsonBody(c: Context): Promise<Body> {
  const text = await c.req.text();
  if (!text) return {};
  const parsed: unknown = JSON.parse(text);
  return parsed && typeof parsed === "object" ? (parsed as Body) : {};
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);
const int = (v: unknown): number | undefined => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : undefined);

admin.post("/reset", (c) => {
  resetAll();
  // Subscriptions live beside the directory state (subscriptions.ts imports state.ts, not back).
  resetNotifications();
  return c.json({ ok: true });
});

/**
 * Memory dropped and rebuilt from what storage kept, as a restarted `npm start` would find it: how a
 * test proves the demo survives a restart without restarting workerd (restore.ts).
 */
admin.post("/restart", async (c) => {
  await restoreFromStorage();
  return c.json({ ok: true });
});

admin.post("/faults", async (c) => {
  const body = await jsonBody(c);
  const endpoint = str(body.endpoint);
  if (!endpoint || !ENDPOINT_NAMES.includes(endpoint)) return invalid(c, `endpoint must be one of ${ENDPOINT_NAMES.join(", ")}`);
  const status = int(body.status);
  const networkError = body.networkError === true;
  const delayMs = int(body.delayMs);
  // A fault with neither status, network error nor delay would do nothing: default to a 500.
  state.faults.push({
    endpoint,
    status: status ?? (networkError || delayMs ? undefined : 500),
    ...(int(body.retryAfter) !== undefined ? { retryAfter: int(body.retryAfter) } : {}),
    ...(delayMs !== undefined ? { delayMs } : {}),
    times: int(body.times) || 1,
    afterRequests: int(body.afterRequests) ?? 0,
    ...(body.body !== undefined ? { body: body.body } : {}),
    networkError,
  });
  return c.json({ ok: true, pending: state.faults.length });
});

admin.get("/faults", (c) => c.json({ faults: state.faults }));
admin.delete("/faults", (c) => {
  state.faults = [];
  return c.json({ ok: true });
});

admin.post("/tamper", async (c) => {
  const kind = str((await jsonBody(c)).kind);
  if (!kind || !TAMPER_KINDS.includes(kind as TamperKind)) return invalid(c, `kind must be one of ${TAMPER_KINDS.join(", ")}`);
  state.tamper = kind as TamperKind;
  return c.json({ ok: true });
});

admin.post("/grants/revoke", async (c) => {
  const body = await jsonBody(c);
  const tenantId = str(body.tenantId)?.toLowerCase();
  const oid = str(body.oid)?.toLowerCase();
  const revoked = revokeRefreshTokens({ ...(tenantId ? { tenantId } : {}), ...(oid ? { oid } : {}) });
  return c.json({ ok: true, revoked });
});

admin.post("/refresh-tokens/expire", (c) => {
  return c.json({ ok: true, expired: expireRefreshTokens() });
});

admin.post("/access-tokens/expire", (c) => {
  return c.json({ ok: true, expired: expireAccessTokens() });
});

admin.post("/delta/expire", (c) => {
  expireDeltaTokens();
  return c.json({ ok: true });
});

admin.get("/registration", (c) => c.json(state.registration));
admin.post("/registration", async (c) => {
  const value = str((await jsonBody(c)).groupMembershipClaims);
  if (!value || !GROUP_MEMBERSHIP_CLAIMS.includes(value as GroupMembershipClaims)) {
    return invalid(c, `groupMembershipClaims must be one of ${GROUP_MEMBERSHIP_CLAIMS.join(", ")}`);
  }
  setRegistration(value as GroupMembershipClaims);
  return c.json({ ok: true, ...state.registration });
});

admin.post("/delta/disorder", async (c) => {
  const body = await jsonBody(c);
  state.deltaDisorder = { shuffle: body.shuffle === true, repeat: body.repeat === true };
  return c.json({ ok: true, ...state.deltaDisorder });
});

admin.post("/tenants/:tid/admin-consent-workflow", async (c) => {
  const tenant = directory.tenants.get(c.req.param("tid").toLowerCase());
  if (!tenant) return missing(c, "tenant");
  const enabled = (await jsonBody(c)).enabled === true;
  setAdminConsentWorkflow(tenant.id, enabled);
  return c.json({ ok: true, enabled });
});

admin.get("/tenants/:tid/admin-consent-workflow", (c) => {
  const tid = c.req.param("tid").toLowerCase();
  return c.json({
    enabled: state.adminConsentWorkflow.get(tid) ?? false,
    requests: state.consentRequests.filter((r) => r.tenantId === tid),
  });
});

admin.post("/consents", async (c) => {
  const body = await jsonBody(c);
  const tenant = directory.tenants.get(str(body.tenantId)?.toLowerCase() ?? "");
  if (!tenant) return missing(c, "tenant");
  grantConsent(tenant, str(body.clientId) ?? c.env.MS_CLIENT_ID);
  return c.json({ ok: true });
});

/** Withdraws the tenant's admin consent (as deleting the grant in the portal would). */
admin.post("/consents/revoke", async (c) => {
  const body = await jsonBody(c);
  const tenant = directory.tenants.get(str(body.tenantId)?.toLowerCase() ?? "");
  if (!tenant) return missing(c, "tenant");
  const removed = withdrawConsent(tenant, str(body.clientId) ?? c.env.MS_CLIENT_ID);
  return c.json({ ok: true, removed });
});

const USER_ACTIONS = {
  disable: (e) => {
    e.user.accountEnabled = false;
  },
  enable: (e) => {
    e.user.accountEnabled = true;
  },
  delete: (e) => {
    e.deleted = true;
  },
  restore: (e) => {
    e.deleted = false;
  },
} satisfies Record<string, Parameters<typeof changeUser>[2]>;

admin.post("/users/:oid/:action{disable|enable|delete|restore}", (c) => {
  const found = locateUser(c.req.param("oid"));
  if (!found) return missing(c, "user");
  const action = c.req.param("action") as keyof typeof USER_ACTIONS;
  const entry = changeUser(found.tenant, found.entry.user.id, USER_ACTIONS[action])!;
  announce(c, found.tenant.id, entry.user.id, action === "delete" ? "deleted" : "updated");
  return c.json({ ok: true, oid: entry.user.id, accountEnabled: entry.user.accountEnabled, deleted: entry.deleted });
});

// POST /users (a person created in Entra) is adminUserCreate.ts.

function newGroup(tenant: Tenant, displayName: string, memberOf: string[] = []): DirectoryGroup {
  const group = { id: crypto.randomUUID(), tenantId: tenant.id, displayName, memberOf };
  addGroup(tenant, group);
  return group;
}

admin.post("/users/:oid/bulk-groups", async (c) => {
  const found = locateUser(c.req.param("oid"));
  if (!found) return missing(c, "user");
  const count = int((await jsonBody(c)).count);
  if (!count) return invalid(c, "count must be a positive integer");
  const groupIds = Array.from(
    { length: count },
    (_, i) => newGroup(found.tenant, `Bulk Group ${i + 1} for ${found.entry.user.displayName}`).id,
  );
  changeUser(found.tenant, found.entry.user.id, (e) => void e.user.groups.push(...groupIds));
  recordJoined(found.tenant, found.entry.user.id, groupIds);
  return c.json({ ok: true, groupIds });
});

admin.post("/groups", async (c) => {
  const body = await jsonBody(c);
  const tenant = directory.tenants.get(str(body.tenantId)?.toLowerCase() ?? "");
  if (!tenant) return missing(c, "tenant");
  const displayName = str(body.displayName);
  if (!displayName) return invalid(c, "displayName is required");
  const memberOf = Array.isArray(body.memberOf)
    ? body.memberOf.filter((g): g is string => typeof g === "string" && !!findGroup(tenant, g))
    : [];
  const group = newGroup(tenant, displayName, memberOf);
  recordNestedGroup(tenant, group.id, memberOf);
  const domain = tenant.verifiedDomains.find((d) => d.isDefault)?.name ?? tenant.verifiedDomains[0]!.name;
  const memberOids = Array.from({ length: int(body.memberCount) ?? 0 }, (_, i) => {
    const oid = crypto.randomUUID();
    createUser(tenant, {
      id: oid,
      tenantId: tenant.id,
      displayName: `${displayName} Member ${i + 1}`,
      userPrincipalName: `member${i + 1}.${group.id.slice(0, 8)}@${domain}`,
      mail: `member${i + 1}.${group.id.slice(0, 8)}@${domain}`,
      userType: "Member",
      accountEnabled: true,
      globalAdmin: false,
      groups: [group.id],
    });
    recordJoined(tenant, oid, [group.id]);
    return oid;
  });
  return c.json({ ok: true, id: group.id, memberOids }, 201);
});

function locateGroupMember(c: Context, gid: string, oid: string) {
  const found = locateUser(oid);
  if (!found) return { response: missing(c, "user") };
  const group = findGroup(found.tenant, gid);
  if (!group) return { response: missing(c, "group in the user's tenant") };
  return { found, group };
}

admin.post("/groups/:gid/members", async (c) => {
  const located = locateGroupMember(c, c.req.param("gid"), str((await jsonBody(c)).oid) ?? "");
  if (!located.found) return located.response;
  const { found, group } = located;
  if (setMembership(found.tenant, found.entry.user.id, group.id, true)) announceGroup(c, found.tenant.id, group.id);
  return c.json({ ok: true });
});

admin.delete("/groups/:gid/members/:oid", (c) => {
  const located = locateGroupMember(c, c.req.param("gid"), c.req.param("oid"));
  if (!located.found) return located.response;
  const { found, group } = located;
  if (setMembership(found.tenant, found.entry.user.id, group.id, false)) announceGroup(c, found.tenant.id, group.id);
  return c.json({ ok: true });
});

admin.post("/groups/:gid/rename", async (c) => {
  const displayName = str((await jsonBody(c)).displayName);
  if (!displayName) return invalid(c, "displayName is required");
  const found = [...directory.tenants.values()]
    .map((tenant) => ({ tenant, group: findGroup(tenant, c.req.param("gid")) }))
    .find((f) => f.group);
  if (!found?.group) return missing(c, "group");
  renameGroup(found.tenant, found.group, displayName);
  return c.json({ ok: true });
});

admin.post("/synthetic-tenants", async (c) => {
  const body = await jsonBody(c);
  const users = int(body.users);
  if (!users) return invalid(c, "users must be a positive integer");
  const spec: SyntheticTenantSpec = { users };
  if (str(body.tenantId)) spec.tenantId = str(body.tenantId)!;
  if (str(body.displayName)) spec.displayName = str(body.displayName)!;
  if (str(body.domain)) spec.domain = str(body.domain)!;
  if (typeof body.disabledPercent === "number") spec.disabledPercent = body.disabledPercent;
  if (int(body.groups) !== undefined) spec.groups = int(body.groups)!;
  if (int(body.seed) !== undefined) spec.seed = int(body.seed)!;
  const tenant = createSyntheticTenant(spec);
  if (body.consented === true) grantConsent(tenant, c.env.MS_CLIENT_ID);
  const adminUser = tenant.baseUser(0);
  return c.json(
    {
      ok: true,
      tenantId: tenant.id,
      displayName: tenant.displayName,
      domain: tenant.verifiedDomains[0]!.name,
      users,
      adminOid: adminUser.id,
      adminUserPrincipalName: adminUser.userPrincipalName,
      groupIds: tenant.synthetic?.groupIds ?? [],
    },
    201,
  );
});

admin.get("/stats", (c) => {
  const requests = Object.fromEntries(state.requests);
  const lowPriority = Object.fromEntries(state.lowPriorityRequests);
  const batched = Object.fromEntries(state.batchedRequests);
  return c.json({
    requests,
    lowPriority,
    ...(state.batchedRequests.size > 0 ? { batched } : {}),
    total: Object.values(requests).reduce((a, b) => a + b, 0),
  });
});

admin.post("/stats/reset", (c) => {
  state.requests.clear();
  state.lowPriorityRequests.clear();
  state.batchedRequests.clear();
  return c.json({ ok: true });
});

/**
 * A change made here is announced to the tenant's subscriptions (emulator/src/subscriptions.ts)
 * after the admin call has answered, as Graph notifies asynchronously.
 */
function announce(c: Context<EmulatorContext>, tenantId: string, oid: string, changeType: "updated" | "deleted"): void {
  const delivering = notifyUserChanged(c.env, tenantId, oid, changeType);
  try {
    c.executionCtx.waitUntil(delivering);
  } catch {
    // No execution context (a unit call): the deliveries still run on their own.
  }
}

/**
 * A membership change is an `updated` change of the group, not of the user: Graph notifies the
 * tenant's `/groups` subscriptions (https://learn.microsoft.com/en-us/graph/api/resources/webhooks).
 */
function announceGroup(c: Context<EmulatorContext>, tenantId: string, groupId: string): void {
  const delivering = notifyGroupChanged(c.env, tenantId, groupId);
  try {
    c.executionCtx.waitUntil(delivering);
  } catch {
    // No execution context (a unit call): the deliveries still run on their own.
  }
}

/** Subscriptions the app holds, as Graph would list them, plus their tenant. */
admin.get("/subscriptions", (c) => c.json({ value: subscriptionList() }));

/** Drop the next `drop` change notifications and/or hold each back `delayMs` (reset clears both). */
admin.post("/notifications", async (c) => {
  const body = await jsonBody(c);
  if (body.drop !== undefined && int(body.drop) === undefined) return invalid(c, "drop is a whole number");
  if (body.delayMs !== undefined && (int(body.delayMs) === undefined || int(body.delayMs)! > 60_000))
    return invalid(c, "delayMs is 0–60000");
  if (body.drop !== undefined) notifications.drop = int(body.drop)!;
  if (body.delayMs !== undefined) notifications.delayMs = int(body.delayMs)!;
  return c.json({ ok: true, drop: notifications.drop, delayMs: notifications.delayMs });
});

/** The last deliveries (validation, change and lifecycle notifications) with the app's answer status. */
admin.get("/notifications/sent", (c) =>
  c.json({ value: notifications.sent.map(({ kind, url, body, status, at }) => ({ kind, url, body, status, at })) }),
);

/** Sends a lifecycle notification to the subscription's lifecycleNotificationUrl and reports the app's answer. */
admin.post("/subscriptions/:id/lifecycle", async (c) => {
  const event = str((await jsonBody(c)).event);
  if (!event || !(LIFECYCLE_EVENTS as readonly string[]).includes(event))
    return invalid(c, `event must be one of ${LIFECYCLE_EVENTS.join(", ")}`);
  const delivery = await sendLifecycleEvent(c.env, c.req.param("id"), event as LifecycleEvent);
  if (!delivery) return missing(c, "subscription with a lifecycleNotificationUrl");
  return c.json({ ok: true, status: delivery.status });
});
