// The emulator as a SCIM provisioning client, standing in for Microsoft Entra ID's provisioning
// service: it pushes an emulated tenant's people and groups to a SCIM 2.0 endpoint (UniAsset's
// `/scim/v2` under `npm start`) with a bearer token, in the request shapes Microsoft documents for
// its provisioning service
// (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups,
// "User operations" and "Group operations"):
// - a user: `GET /Users?filter=userName eq "<UPN>"`, then `POST /Users` (core and enterprise
//   schemas, `externalId` the Entra object id, `userName` the UPN, `active` from accountEnabled,
//   the work email, `name`) when it is not there, else `PATCH` with `Replace` operations;
// - a group: `GET /Groups?filter=displayName eq "…"&excludedAttributes=members`, then `POST /Groups`
//   (`externalId` the group's object id) when absent, and one `PATCH` adding its direct members
//   (`{"op":"Add","path":"members","value":[{"value":"<SCIM id>"}]}`);
// - a deactivation: `PATCH` with `{"op":"Replace","path":"active","value":"False"}`, capitalised
//   and the boolean as a string, as the provisioning service sends it without the
//   `aadOptscim062020` flag
//   (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility).
// Entra's default attribute mappings send mailNickname as externalId; this client maps objectId
// instead, as apps that link sign-ins by object id ask admins to (UniAsset's src/signin/scimLink.ts).
//
// POST /_emulator/scim/push {baseUrl, token, tenantId?, users?: [oid…], groups?: boolean}
// POST /_emulator/scim/deactivate {baseUrl, token, oid}
// GET  /_emulator/scim: a page with the same two actions as forms.
// At most PUSH_LIMIT users per push. Every answer lists each request's method, path and status.
import { Hono, type Context } from "hono";
import type { FC } from "hono/jsx";
import { CONTOSO_TENANT_ID } from "../../demo/directory.ts";
import { directory, findUser, userAt, userCount, type DirectoryUser, type Tenant } from "./directory.ts";
import type { EmulatorContext, EmulatorEnv } from "./env.ts";
import { Layout } from "./pages.tsx";

export const scimClient = new Hono<EmulatorContext>().basePath("/_emulator/scim");

const PUSH_LIMIT = 500;
const TIMEOUT_MS = 10_000;
const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

interface Target {
  env: EmulatorEnv;
  baseUrl: string;
  token: string;
  log: { method: string; path: string; status: number | null }[];
}

/** One SCIM request. The app under test is reached through its binding (tests), else over the network. */
async function send(
  target: Target,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number | null; json: Record<string, unknown> | null }> {
  const url = `${target.baseUrl.replace(/\/+$/, "")}/${path}`;
  const init: RequestInit = {
    method,
    headers: { authorization: `Bearer ${target.token}`, accept: "application/scim+json", "content-type": "application/scim+json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  };
  const entry: Target["log"][number] = { method, path: path.split("?")[0]!, status: null };
  target.log.push(entry);
  try {
    const viaBinding = target.env.APP && new URL(url).origin === new URL(target.env.APP_ORIGIN).origin;
    const response = viaBinding ? await target.env.APP!.fetch(url, init) : await fetch(url, init);
    entry.status = response.status;
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  } catch {
    return { status: null, json: null };
  }
}

const filterEq = (attribute: string, value: string) => encodeURIComponent(`${attribute} eq "${value.replaceAll('"', '\\"')}"`);

function firstId(json: Record<string, unknown> | null): string | null {
  const resources = json?.Resources as { id?: string }[] | undefined;
  return resources?.[0]?.id ?? null;
}

function userBody(user: DirectoryUser) {
  const [givenName, ...rest] = user.displayName.split(" ");
  return {
    schemas: [USER, ENTERPRISE],
    externalId: user.id,
    userName: user.userPrincipalName,
    active: user.accountEnabled,
    displayName: user.displayName,
    emails: user.mail ? [{ primary: true, type: "work", value: user.mail }] : [],
    meta: { resourceType: "User" },
    name: { formatted: user.displayName, givenName: givenName ?? "", familyName: rest.join(" ") },
    roles: [],
  };
}

/** Looks a user up by userName, then creates or updates it. Returns its SCIM id (null: refused). */
async function pushUser(target: Target, user: DirectoryUser): Promise<{ id: string | null; action: string; status: number | null }> {
  const found = await send(target, "GET", `Users?filter=${filterEq("userName", user.userPrincipalName)}`);
  if (found.status !== 200) return { id: null, action: "lookup failed", status: found.status };
  const existing = firstId(found.json);
  if (!existing) {
    const created = await send(target, "POST", "Users", userBody(user));
    return { id: (created.json?.id as string | undefined) ?? null, action: "created", status: created.status };
  }
  const body = userBody(user);
  const updated = await send(target, "PATCH", `Users/${existing}`, {
    schemas: [PATCH_OP],
    Operations: [
      { op: "Replace", path: "displayName", value: body.displayName },
      { op: "Replace", path: "externalId", value: body.externalId },
      { op: "Replace", path: "active", value: user.accountEnabled ? "True" : "False" },
    ],
  });
  return { id: existing, action: "updated", status: updated.status };
}

/** Looks a group up by displayName, creates it when absent, and adds its direct members that were pushed. */
async function pushGroup(target: Target, group: { id: string; displayName: string }, members: string[]) {
  const found = await send(target, "GET", `Groups?excludedAttributes=members&filter=${filterEq("displayName", group.displayName)}`);
  if (found.status !== 200) return { displayName: group.displayName, id: null, action: "lookup failed", status: found.status };
  let id = firstId(found.json);
  let action = "found";
  if (!id) {
    const created = await send(target, "POST", "Groups", {
      schemas: [GROUP],
      externalId: group.id,
      displayName: group.displayName,
      meta: { resourceType: "Group" },
    });
    id = (created.json?.id as string | undefined) ?? null;
    action = "created";
    if (!id) return { displayName: group.displayName, id, action: "create failed", status: created.status };
  }
  if (members.length === 0) return { displayName: group.displayName, id, action, status: 200 };
  const added = await send(target, "PATCH", `Groups/${id}`, {
    schemas: [PATCH_OP],
    Operations: [{ name: "addMember", op: "Add", path: "members", value: members.map((value) => ({ $ref: null, value })) }],
  });
  return { displayName: group.displayName, id, action: `${action}, ${members.length} added`, status: added.status };
}

function tenantUsers(tenant: Tenant, oids: string[] | undefined): DirectoryUser[] {
  if (oids) return oids.flatMap((oid) => findUser(tenant, oid)?.user ?? []).slice(0, PUSH_LIMIT);
  const users: DirectoryUser[] = [];
  for (let i = 0; i < userCount(tenant) && users.length < PUSH_LIMIT; i++) {
    const entry = userAt(tenant, i);
    if (entry && !entry.deleted) users.push(entry.user);
  }
  return users;
}

interface PushRequest {
  baseUrl: string;
  token: string;
  tenantId?: string;
  users?: string[];
  groups?: boolean;
}

async function push(env: EmulatorEnv, request: PushRequest) {
  const tenant = directory.tenants.get(request.tenantId ?? CONTOSO_TENANT_ID);
  if (!tenant) return { error: "not_found", message: "No such tenant." } as const;
  const target: Target = { env, baseUrl: request.baseUrl, token: request.token, log: [] };
  const users = [];
  const scimIds = new Map<string, string>();
  for (const user of tenantUsers(tenant, request.users)) {
    const pushed = await pushUser(target, user);
    if (pushed.id) scimIds.set(user.id, pushed.id);
    users.push({ oid: user.id, userName: user.userPrincipalName, scimId: pushed.id, action: pushed.action, status: pushed.status });
  }
  const groups = [];
  if (request.groups !== false) {
    for (const group of tenant.groups) {
      const members = [...scimIds.entries()].flatMap(([oid, id]) => (findUser(tenant, oid)?.user.groups.includes(group.id) ? [id] : []));
      groups.push(await pushGroup(target, group, members));
    }
  }
  return { users, groups, requests: target.log };
}

async function deactivate(env: EmulatorEnv, request: { baseUrl: string; token: string; oid: string }) {
  const found = [...directory.tenants.values()].map((tenant) => findUser(tenant, request.oid)).find(Boolean);
  if (!found) return { error: "not_found", message: "No such user." } as const;
  const target: Target = { env, baseUrl: request.baseUrl, token: request.token, log: [] };
  const lookup = await send(target, "GET", `Users?filter=${filterEq("userName", found.user.userPrincipalName)}`);
  const id = firstId(lookup.json);
  if (!id) return { userName: found.user.userPrincipalName, scimId: null, status: lookup.status, requests: target.log };
  const patched = await send(target, "PATCH", `Users/${id}`, {
    schemas: [PATCH_OP],
    Operations: [{ op: "Replace", path: "active", value: "False" }],
  });
  return { userName: found.user.userPrincipalName, scimId: id, status: patched.status, requests: target.log };
}

/** The request's fields, from JSON (the admin API) or a form (the page). */
async function fields(c: Context<EmulatorContext>): Promise<Record<string, unknown>> {
  if ((c.req.header("content-type") ?? "").includes("application/json")) {
    const parsed: unknown = JSON.parse((await c.req.text()) || "{}");
    return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  }
  return Object.fromEntries(Object.entries(await c.req.parseBody()).map(([key, value]) => [key, typeof value === "string" ? value : ""]));
}

/** baseUrl (http or https) and token are required; users, when given, are object ids. */
function target(body: Record<string, unknown>, env: EmulatorEnv): { baseUrl: string; token: string } | string {
  const baseUrl = typeof body.baseUrl === "string" && body.baseUrl ? body.baseUrl : `${env.APP_ORIGIN}/scim/v2`;
  const token = typeof body.token === "string" ? body.token.trim() : "";
  try {
    if (!["http:", "https:"].includes(new URL(baseUrl).protocol)) return "baseUrl must be an http or https URL.";
  } catch {
    return "baseUrl must be an http or https URL.";
  }
  if (!token || token.length > 500) return "token is required: the bearer token from UniAsset's SCIM provisioning page.";
  return { baseUrl, token };
}

const wantsHtml = (c: Context) => !(c.req.header("content-type") ?? "").includes("application/json");

scimClient.post("/push", async (c) => {
  const body = await fields(c);
  const where = target(body, c.env);
  if (typeof where === "string") return c.json({ error: "invalid_request", message: where }, 400);
  const users = Array.isArray(body.users) ? body.users.filter((u): u is string => typeof u === "string") : undefined;
  const result = await push(c.env, {
    ...where,
    users,
    groups: body.groups !== false && body.groups !== "false",
    tenantId: typeof body.tenantId === "string" ? body.tenantId : undefined,
  });
  if ("error" in result) return c.json(result, 404);
  return wantsHtml(c) ? c.html(<ResultPage title="Pushed over SCIM" result={result} />) : c.json(result);
});

scimClient.post("/deactivate", async (c) => {
  const body = await fields(c);
  const where = target(body, c.env);
  if (typeof where === "string") return c.json({ error: "invalid_request", message: where }, 400);
  if (typeof body.oid !== "string" || !body.oid) return c.json({ error: "invalid_request", message: "oid is required." }, 400);
  const result = await deactivate(c.env, { ...where, oid: body.oid });
  if ("error" in result) return c.json(result, 404);
  return wantsHtml(c) ? c.html(<ResultPage title="Deactivated over SCIM" result={result} />) : c.json(result);
});

scimClient.get("/", (c) => {
  const tenant = directory.tenants.get(CONTOSO_TENANT_ID);
  const people = tenant ? tenantUsers(tenant, undefined) : [];
  return c.html(<ClientPage baseUrl={`${c.env.APP_ORIGIN}/scim/v2`} people={people} />);
});

const ClientPage: FC<{ baseUrl: string; people: DirectoryUser[] }> = (props) => (
  <Layout title="SCIM provisioning client">
    <h1>Provision Contoso over SCIM</h1>
    <p>
      Acts as Microsoft Entra ID's provisioning service: pushes Contoso's people and groups to a SCIM 2.0 endpoint. Generate a token on
      UniAsset's Settings → Integrations → SCIM provisioning and paste it here.
    </p>
    <form method="post" action="/_emulator/scim/push">
      <p>
        <label>
          SCIM base URL <input name="baseUrl" value={props.baseUrl} size={50} />
        </label>
      </p>
      <p>
        <label>
          Bearer token <input name="token" size={80} autocomplete="off" required />
        </label>
      </p>
      <button type="submit">Push Contoso's people and groups</button>
    </form>
    <h2>Deactivate one person</h2>
    <form method="post" action="/_emulator/scim/deactivate">
      <input type="hidden" name="baseUrl" value={props.baseUrl} />
      <p>
        <label>
          Bearer token <input name="token" size={80} autocomplete="off" required />
        </label>
      </p>
      <select name="oid">
        {props.people.map((user) => (
          <option value={user.id}>
            {user.displayName} ({user.userPrincipalName})
          </option>
        ))}
      </select>{" "}
      <button type="submit">Send active: false</button>
    </form>
  </Layout>
);

const ResultPage: FC<{ title: string; result: { requests: Target["log"] } & Record<string, unknown> }> = (props) => (
  <Layout title={props.title}>
    <h1>{props.title}</h1>
    <table>
      <thead>
        <tr>
          <th>Method</th>
          <th>Path</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {props.result.requests.map((request) => (
          <tr>
            <td>{request.method}</td>
            <td>
              <code>{request.path}</code>
            </td>
            <td>{request.status ?? "no answer"}</td>
          </tr>
        ))}
      </tbody>
    </table>
    <p>
      <a href="/_emulator/scim">Back</a>
    </p>
  </Layout>
);
