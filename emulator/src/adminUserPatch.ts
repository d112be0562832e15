// PATCH /_emulator/users/{oid}: changes a user's attributes with Graph's property names, as an
// admin would in the Entra admin center or with Graph's own PATCH /users/{id}
// (https://learn.microsoft.com/en-us/graph/api/user-update), e.g.
//   {"displayName": "Megan Bowen-Smith", "department": "Finance", "employeeOrgData": {"costCenter": "CC-410"}}
// `manager` takes the manager's object id (or null): Graph sets it with PUT /users/{id}/manager/$ref
// (https://learn.microsoft.com/en-us/graph/api/user-post-manager), a separate call the emulator folds in.
// The change is visible to /users/delta at once and announced as an `updated` change of the user
// to the tenant's `users` subscriptions, as Graph does for a property change.
import { Hono, type Context } from "hono";
import { EMPTY_PROFILE, type DemoProfile } from "../../demo/profiles.ts";
import { changeUser, findUser, locateUser } from "./directory.ts";
import type { EmulatorContext } from "./env.ts";
import { notifyUserChanged } from "./subscriptions.ts";

const TEXT_PROPERTIES = ["displayName", "mail", "userPrincipalName"] as const;
const PROFILE_PROPERTIES = ["department", "jobTitle", "officeLocation", "employeeId"] as const;
const ORG_DATA_PROPERTIES = ["costCenter", "division"] as const;
const KNOWN = new Set<string>([...TEXT_PROPERTIES, ...PROFILE_PROPERTIES, "employeeOrgData", "manager"]);
/** Graph's limits: displayName 256, department/jobTitle/officeLocation 128, employeeId 16 (user resource). */
const MAX_LENGTH: Record<string, number> = { displayName: 256, mail: 320, userPrincipalName: 113, employeeId: 16 };

type Patch = Record<string, unknown>;
const invalid = (c: Context, message: string) => c.json({ error: "invalid_request", message }, 400);

/** What is wrong with the patch, or null. Values may be hostile on purpose (tests): only type and length are checked. */
function problem(body: Patch, managerKnown: (oid: string) => boolean, self: string): string | null {
  const unknown = Object.keys(body).find((key) => !KNOWN.has(key));
  if (unknown) return `Property '${unknown}' is not supported; use ${[...KNOWN].join(", ")}`;
  for (const key of TEXT_PROPERTIES) {
    const value = body[key];
    if (value === undefined) continue;
    if (key === "mail" ? value !== null && typeof value !== "string" : typeof value !== "string" || value.length === 0)
      return `${key} must be a ${key === "mail" ? "string or null" : "non-empty string"}`;
  }
  for (const key of PROFILE_PROPERTIES) {
    const value = body[key];
    if (value !== undefined && value !== null && typeof value !== "string") return `${key} must be a string or null`;
  }
  for (const [key, max] of Object.entries(MAX_LENGTH)) {
    const value = body[key];
    if (typeof value === "string" && value.length > max) return `${key} is longer than ${max} characters`;
  }
  const orgData = body.employeeOrgData;
  if (orgData !== undefined && orgData !== null) {
    if (typeof orgData !== "object" || Array.isArray(orgData)) return "employeeOrgData must be an object or null";
    for (const [key, value] of Object.entries(orgData)) {
      if (!(ORG_DATA_PROPERTIES as readonly string[]).includes(key)) return `employeeOrgData.${key} is not supported`;
      if (value !== null && typeof value !== "string") return `employeeOrgData.${key} must be a string or null`;
    }
  }
  const manager = body.manager;
  if (manager !== undefined && manager !== null) {
    if (typeof manager !== "string" || !managerKnown(manager)) return "manager must be the object id of a user in the same tenant, or null";
    if (manager.toLowerCase() === self) return "a user cannot be their own manager";
  }
  return null;
}

function patched(profile: DemoProfile, body: Patch): DemoProfile {
  const next: DemoProfile = { ...profile, employeeOrgData: profile.employeeOrgData ? { ...profile.employeeOrgData } : null };
  for (const key of PROFILE_PROPERTIES) if (body[key] !== undefined) next[key] = body[key] as string | null;
  if (body.manager !== undefined) next.managerId = typeof body.manager === "string" ? body.manager.toLowerCase() : null;
  const orgData = body.employeeOrgData as Record<string, string | null> | null | undefined;
  if (orgData === null) next.employeeOrgData = null;
  else if (orgData) next.employeeOrgData = { costCenter: null, division: null, ...next.employeeOrgData, ...orgData };
  return next;
}

export const adminUserPatch = new Hono<EmulatorContext>();

adminUserPatch.patch("/_emulator/users/:oid", async (c) => {
  const found = locateUser(c.req.param("oid"));
  if (!found || found.entry.deleted) return c.json({ error: "not_found", message: "user not found" }, 404);
  const body: unknown = JSON.parse((await c.req.text()) || "null");
  if (!body || typeof body !== "object" || Array.isArray(body)) return invalid(c, "The body must be a JSON object of user properties");
  const { tenant } = found;
  const self = found.entry.user.id;
  const managerKnown = (oid: string) => {
    const manager = findUser(tenant, oid);
    return !!manager && !manager.deleted && manager.user.id === oid.toLowerCase();
  };
  const wrong = problem(body as Patch, managerKnown, self);
  if (wrong) return invalid(c, wrong);
  const patch = body as Patch;
  const entry = changeUser(tenant, self, (e) => {
    for (const key of TEXT_PROPERTIES) if (patch[key] !== undefined) (e.user as unknown as Patch)[key] = patch[key];
    e.user.profile = patched(e.user.profile ?? EMPTY_PROFILE, patch);
  })!;
  const delivering = notifyUserChanged(c.env, tenant.id, self, "updated");
  try {
    c.executionCtx.waitUntil(delivering);
  } catch {
    // No execution context (a unit call): the deliveries still run on their own.
  }
  return c.json({ ok: true, oid: self, user: { displayName: entry.user.displayName, mail: entry.user.mail, ...entry.user.profile } });
});
