// POST /_emulator/users: a person created in Entra, as an admin would in the portal or an app
// with `POST /v1.0/users` (https://learn.microsoft.com/en-us/graph/api/user-post-users). The body
// uses Graph's property names (displayName, userPrincipalName, mail, accountEnabled, userType,
// mailNickname, passwordProfile) plus the emulator's own `tenantId` (Graph takes the tenant from
// the caller's token; the admin API has none), `groups` and `globalAdmin`. The new user is visible
// to /users and /users/delta at once, and announced to the tenant's subscriptions on `users` as
// Graph announces a creation: "Creation and soft-deletion of users also trigger the `updated`
// changeType" (https://learn.microsoft.com/en-us/graph/api/resources/webhooks, the `user` row), so
// a subscription with `created` gets a `created` item and one with `updated` an `updated` item.
import { Hono, type Context } from "hono";
import { createUser, directory, findGroup, findUser } from "./directory.ts";
import type { EmulatorContext } from "./env.ts";
import { recordJoined } from "./groupMembership.ts";
import { notifyUserCreated } from "./subscriptions.ts";

export const adminUserCreate = new Hono<EmulatorContext>();

type Body = Record<string, unknown>;
const invalid = (c: Context, message: string) => c.json({ error: "invalid_request", message }, 400);
const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim().length > 0 ? v.trim() : undefined);

adminUserCreate.post("/_emulator/users", async (c) => {
  let body: Body;
  try {
    const parsed: unknown = JSON.parse((await c.req.text()) || "{}");
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return invalid(c, "the body is a JSON object");
    body = parsed as Body;
  } catch {
    return invalid(c, "the body is not JSON");
  }
  const tenant = directory.tenants.get(text(body.tenantId)?.toLowerCase() ?? "");
  if (!tenant) return c.json({ error: "not_found", message: "tenant not found" }, 404);
  const displayName = text(body.displayName);
  const userPrincipalName = text(body.userPrincipalName);
  if (!displayName || !userPrincipalName) return invalid(c, "displayName and userPrincipalName are required");
  if (!/^[^@]+@[^@\s]+$/.test(userPrincipalName)) return invalid(c, "userPrincipalName is alias@domain");
  for (const flag of ["accountEnabled", "globalAdmin"] as const) {
    if (body[flag] !== undefined && typeof body[flag] !== "boolean") return invalid(c, `${flag} is true or false`);
  }
  if (body.userType !== undefined && body.userType !== "Member" && body.userType !== "Guest") {
    return invalid(c, "userType is Member or Guest");
  }
  if (body.mail !== undefined && body.mail !== null && !text(body.mail)) return invalid(c, "mail is an address");
  // Graph refuses a second object with the same userPrincipalName in a tenant (400, "Another object
  // with the same value for property userPrincipalName already exists").
  if (findUser(tenant, userPrincipalName))
    return invalid(c, "Another object with the same value for property userPrincipalName already exists.");
  const groups = Array.isArray(body.groups) ? body.groups.filter((g): g is string => typeof g === "string") : [];
  const unknownGroup = groups.find((g) => !findGroup(tenant, g));
  if (unknownGroup) return c.json({ error: "not_found", message: `group ${unknownGroup} not found` }, 404);

  const userType = body.userType === "Guest" ? "Guest" : "Member";
  const oid = crypto.randomUUID();
  createUser(tenant, {
    id: oid,
    tenantId: tenant.id,
    displayName,
    userPrincipalName,
    mail: text(body.mail) ?? (userType === "Member" ? userPrincipalName : null),
    userType,
    accountEnabled: body.accountEnabled !== false,
    globalAdmin: body.globalAdmin === true,
    groups: groups.map((g) => g.toLowerCase()),
  });
  // Each group gains a member: groups/delta's log (groupMembership.ts).
  recordJoined(
    tenant,
    oid,
    groups.map((g) => g.toLowerCase()),
  );
  // `notify: false` is a test instrument: a user made as if before any subscription existed, so a
  // test that builds its world does not start real-time reads it did not ask for.
  if (body.notify !== false) {
    const delivering = notifyUserCreated(c.env, tenant.id, oid);
    try {
      c.executionCtx.waitUntil(delivering);
    } catch {
      // No execution context (a unit call): the deliveries still run on their own.
    }
  }
  return c.json({ ok: true, oid, id: oid, userPrincipalName }, 201);
});
