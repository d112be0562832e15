// A tenant's domains, as Microsoft Graph publishes them, and the admin calls that add or remove a
// verified one (as an admin would under Entra admin center → Domain names):
// - /organization's `verifiedDomains` (graph.ts) lists the verified ones with `isDefault` and
//   `isInitial` and needs only User.Read ("Applications granted the User.Read permission are able
//   to read only the id, displayName, and verifiedDomains properties",
//   https://learn.microsoft.com/en-us/graph/api/organization-get): what the app reads, since it holds
//   User.Read.All and Group.Read.All, not Domain.Read.All.
// - GET /v1.0/domains and /v1.0/domains/{id} (https://learn.microsoft.com/en-us/graph/api/domain-list,
//   https://learn.microsoft.com/en-us/graph/api/domain-get, resource
//   https://learn.microsoft.com/en-us/graph/api/resources/domain): `id` is the name, with
//   `isVerified`, `isInitial`, `isDefault`; needs Domain.Read.All (or Domain.ReadWrite.All,
//   Directory.Read.All, Directory.ReadWrite.All), else 403 Authorization_RequestDenied.
// The emulator models verified domains only (an unverified one never appears in verifiedDomains).
import { Hono } from "hono";
import { directory, type Tenant } from "./directory.ts";
import type { EmulatorContext } from "./env.ts";
import { graphError } from "./errors.ts";
import { graphPermissions } from "./scopes.ts";
import type { AccessGrant } from "./state.ts";
import { persist } from "./storage.ts";

const READS_DOMAINS = ["Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];

type DomainEnv = EmulatorContext & { Variables: { grant: AccessGrant; tenant: Tenant } };
export const domainRoutes = new Hono<DomainEnv>();

function domainResource(d: Tenant["verifiedDomains"][number]) {
  return {
    id: d.name,
    authenticationType: "Managed",
    availabilityStatus: null,
    isAdminManaged: true,
    isDefault: d.isDefault,
    isInitial: d.isInitial,
    isRoot: true,
    isVerified: true,
    passwordNotificationWindowInDays: 14,
    passwordValidityPeriodInDays: 2147483647,
    supportedServices: ["Email", "OfficeCommunicationsOnline"],
    state: null,
  };
}

domainRoutes.use("/v1.0/domains/*", async (c, next) => {
  const held = new Set(graphPermissions(c.var.grant.scope));
  if (!READS_DOMAINS.some((p) => held.has(p))) {
    return graphError(c, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
  }
  await next();
});
domainRoutes.use("/v1.0/domains", async (c, next) => {
  const held = new Set(graphPermissions(c.var.grant.scope));
  if (!READS_DOMAINS.some((p) => held.has(p))) {
    return graphError(c, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
  }
  await next();
});

domainRoutes.get("/v1.0/domains", (c) =>
  c.json({
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#domains",
    value: c.var.tenant.verifiedDomains.map(domainResource),
  }),
);

domainRoutes.get("/v1.0/domains/:id", (c) => {
  const found = c.var.tenant.verifiedDomains.find((d) => d.name === c.req.param("id").toLowerCase());
  if (!found) return graphError(c, 404, "Request_ResourceNotFound", `Resource '${c.req.param("id")}' does not exist.`);
  return c.json({ "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#domains/$entity", ...domainResource(found) });
});

/** The tenant's verified domains changed: kept across a restart (restore.ts lays them back). */
function saveDomains(tenant: Tenant): void {
  persist("verifiedDomains", tenant.id, tenant.verifiedDomains);
}

export const adminDomains = new Hono<EmulatorContext>().basePath("/_emulator");

const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** POST /_emulator/tenants/{tid}/domains {name}: a domain added and verified in the tenant. */
adminDomains.post("/tenants/:tid/domains", async (c) => {
  const tenant = directory.tenants.get(c.req.param("tid").toLowerCase());
  if (!tenant) return c.json({ error: "not_found", message: "tenant not found" }, 404);
  let body: unknown;
  try {
    body = JSON.parse((await c.req.text()) || "{}");
  } catch {
    return c.json({ error: "invalid_request", message: "the body is not JSON" }, 400);
  }
  const name = typeof (body as { name?: unknown })?.name === "string" ? (body as { name: string }).name.trim().toLowerCase() : "";
  if (!DOMAIN_NAME.test(name)) return c.json({ error: "invalid_request", message: "name is a domain name" }, 400);
  if (tenant.verifiedDomains.some((d) => d.name === name))
    return c.json({ error: "invalid_request", message: "domain already verified" }, 400);
  tenant.verifiedDomains.push({ name, isDefault: false, isInitial: false });
  saveDomains(tenant);
  return c.json({ ok: true, verifiedDomains: tenant.verifiedDomains }, 201);
});

/** DELETE /_emulator/tenants/{tid}/domains/{name}: a domain removed (never the initial or the default one, as in Entra). */
adminDomains.delete("/tenants/:tid/domains/:name", (c) => {
  const tenant = directory.tenants.get(c.req.param("tid").toLowerCase());
  if (!tenant) return c.json({ error: "not_found", message: "tenant not found" }, 404);
  const name = c.req.param("name").toLowerCase();
  const found = tenant.verifiedDomains.find((d) => d.name === name);
  if (!found) return c.json({ error: "not_found", message: "domain not found" }, 404);
  if (found.isInitial || found.isDefault) {
    return c.json({ error: "invalid_request", message: "the initial and the default domain cannot be removed" }, 400);
  }
  tenant.verifiedDomains = tenant.verifiedDomains.filter((d) => d !== found);
  saveDomains(tenant);
  return c.json({ ok: true, verifiedDomains: tenant.verifiedDomains });
});
