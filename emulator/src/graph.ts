// Microsoft Graph v1.0 over the emulated directory: organization, users (+ delta), groups and
// transitive memberships. The bearer token's tenant is the directory every call sees.
import { Hono } from "hono";
import {
  changesSince,
  directory,
  GLOBAL_ADMINISTRATOR_TEMPLATE_ID,
  findGroup,
  findUser,
  membersFrom,
  nestedGroupIds,
  transitiveGroupsOf,
  userAt,
  userCount,
  type DirectoryUser,
  type Tenant,
  type UserEntry,
} from "./directory.ts";
import { activeEntry, disorderedRound, type DisorderOptions } from "./deltaDisorder.ts";
import type { EmulatorContext } from "./env.ts";
import { graphError } from "./errors.ts";
import {
  contextUrl,
  GROUP_PROPERTIES,
  groupResource,
  linkWith,
  ORGANIZATION_PROPERTIES,
  positioned,
  project,
  readQuery,
  readToken,
  takePage,
  USER_PROPERTIES,
  userResource,
  type GraphContext,
} from "./graphQuery.ts";
import { allowsGraph, readsDirectoryRoles } from "./scopes.ts";
import { answerBatch } from "./batch.ts";
import { countAndInjectFaults } from "./faults.tsx";
import { state, type AccessGrant } from "./state.ts";
import { subscriptionRoutes } from "./subscriptions.ts";
import { groupDeltaRoutes } from "./groupDelta.ts";
import { domainRoutes } from "./domains.ts";

type GraphEnv = EmulatorContext & { Variables: { tenant: Tenant; grant: AccessGrant } };
export const graph = new Hono<GraphEnv>();

graph.use("/v1.0/*", async (c, next) => {
  const token = /^Bearer (.+)$/i.exec(c.req.header("Authorization") ?? "")?.[1];
  if (!token) return graphError(c, 401, "InvalidAuthenticationToken", "Access token is empty.");
  const grant = state.accessTokens.get(token);
  const tenant = grant && directory.tenants.get(grant.tenantId);
  if (!grant || !tenant) return graphError(c, 401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.");
  if (grant.expiresAt <= Date.now())
    return graphError(c, 401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.");
  const needs =
    /^\/v1\.0\/users/.test(c.req.path) && !/transitiveMemberOf/.test(c.req.path)
      ? "users"
      : /^\/v1\.0\/groups|transitiveMemberOf/.test(c.req.path)
        ? "groups"
        : "any";
  // /domains checks its own permission (Domain.Read.All and the like: domains.ts).
  if (!/^\/v1\.0\/domains/.test(c.req.path) && !allowsGraph(needs, grant.scope)) {
    return graphError(c, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
  }
  c.set("tenant", tenant);
  c.set("grant", grant);
  await next();
});

graph.route("/", subscriptionRoutes);
// Before /v1.0/groups/:id, which would otherwise take "delta" for a group id.
graph.route("/", groupDeltaRoutes);
graph.route("/", domainRoutes);

graph.get("/v1.0/organization", (c) => {
  const query = readQuery(c, "organization", ORGANIZATION_PROPERTIES);
  if (!query.ok) return query.response;
  const tenant = c.var.tenant;
  return c.json({
    "@odata.context": contextUrl(c, "organization", query.select),
    value: [
      project(
        {
          id: tenant.id,
          displayName: tenant.displayName,
          tenantType: "AAD",
          verifiedDomains: tenant.verifiedDomains.map((d) => ({
            name: d.name,
            isDefault: d.isDefault,
            isInitial: d.isInitial,
            type: "Managed",
            capabilities: "Email, OfficeCommunicationsOnline",
          })),
        },
        query.select,
      ),
    ],
  });
});

function* activeUsersFrom(tenant: Tenant, from: number): Generator<{ position: number; item: DirectoryUser }> {
  for (let position = from; position < userCount(tenant); position++) {
    const entry = userAt(tenant, position);
    if (entry && !entry.deleted) yield { position, item: entry.user };
  }
}

const malformedToken = (c: GraphContext) =>
  graphError(c, 400, "Request_BadRequest", "The specified page token value has expired or is invalid.");

graph.post("/v1.0/$batch", (c) => answerBatch(c, (request) => Promise.resolve(batchedGraph.fetch(request, c.env))));

graph.get("/v1.0/users", (c) => {
  const query = readQuery(c, "user", USER_PROPERTIES);
  if (!query.ok) return query.response;
  const skip = readToken<{ p: number }>(c, "$skiptoken");
  if (skip === "malformed") return malformedToken(c);
  const { page, next } = takePage(activeUsersFrom(c.var.tenant, skip?.p ?? 0), query.top);
  return c.json({
    "@odata.context": contextUrl(c, "users", query.select),
    value: page.map((u) => userResource(u, query.select)),
    ...(next !== undefined ? { "@odata.nextLink": linkWith(c, c.req.path, "$skiptoken", { p: next }) } : {}),
  });
});

/** A delta round: either the initial full listing or the changes between two versions. */
interface DeltaCursor {
  g: string;
  mode: "full" | "changes";
  p: number;
  since: number;
  upto: number;
  /** Set when the round began under POST /_emulator/delta/disorder; positions index its listing. */
  d?: DisorderOptions;
}

/** A disordered round's listing, the same on every page of the round (seeded by its cursor). */
function disorderedListing(tenant: Tenant, cursor: DeltaCursor, options: DisorderOptions): UserEntry[] {
  const seed = `${cursor.g}:${tenant.id}:${cursor.mode}:${cursor.since}:${cursor.upto}`;
  if (cursor.mode === "full") {
    return disorderedRound(
      [...activeUsersFrom(tenant, 0)].map(({ item }) => activeEntry(item)),
      options,
      seed,
    );
  }
  // A replayed change shows the user as the directory first had them, when there is such a state.
  const original = (entry: UserEntry): UserEntry => {
    const index = tenant.baseIndexOf(entry.user.id);
    return index === undefined ? entry : activeEntry(tenant.baseUser(index));
  };
  return disorderedRound(changesSince(tenant, cursor.since, cursor.upto), options, seed, original);
}

graph.get("/v1.0/users/delta", (c) => {
  // Delta also tracks the `manager` relationship when it is selected: "manager@delta" (userResource).
  const query = readQuery(c, "user", [...USER_PROPERTIES, "manager"]);
  if (!query.ok) return query.response;
  const tenant = c.var.tenant;
  // `$deltatoken=latest`: no listing, just a delta link for "now" (Graph's way to start tracking
  // changes after, or alongside, a plain /users listing).
  if (c.req.query("$deltatoken") === "latest") {
    return c.json({
      "@odata.context": contextUrl(c, "users", query.select),
      value: [],
      "@odata.deltaLink": linkWith(c, c.req.path, "$deltatoken", { g: state.deltaGeneration, t: tenant.id, v: directory.version }),
    });
  }
  const skip = readToken<DeltaCursor>(c, "$skiptoken");
  const delta = readToken<{ g: string; t: string; v: number }>(c, "$deltatoken");
  if (skip === "malformed" || delta === "malformed") return malformedToken(c);
  const stale = (skip && skip.g !== state.deltaGeneration) || (delta && (delta.g !== state.deltaGeneration || delta.t !== tenant.id));
  if (stale) {
    // A token that can no longer be used: 410 Gone with a Location header holding the initial
    // query, from which the app restarts with a full synchronization.
    // https://learn.microsoft.com/en-us/graph/delta-query-overview#synchronization-reset
    // https://learn.microsoft.com/en-us/graph/errors#code-property (syncStateNotFound)
    c.header("Location", linkWith(c, c.req.path, undefined, undefined));
    return graphError(
      c,
      410,
      "syncStateNotFound",
      "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
    );
  }
  const disorder = state.deltaDisorder.shuffle || state.deltaDisorder.repeat ? { ...state.deltaDisorder } : undefined;
  const cursor: DeltaCursor =
    skip ??
    (delta
      ? { g: state.deltaGeneration, mode: "changes", p: 0, since: delta.v, upto: directory.version, ...(disorder ? { d: disorder } : {}) }
      : { g: state.deltaGeneration, mode: "full", p: 0, since: 0, upto: directory.version, ...(disorder ? { d: disorder } : {}) });

  const asDelta = (e: UserEntry) => (e.deleted ? { id: e.user.id, "@removed": { reason: "changed" } } : userResource(e.user, query.select));
  let value: Record<string, unknown>[];
  let next: number | undefined;
  if (cursor.d) {
    const taken = takePage(positioned(disorderedListing(tenant, cursor, cursor.d), cursor.p), query.top);
    value = taken.page.map(asDelta);
    next = taken.next;
  } else if (cursor.mode === "full") {
    const taken = takePage(activeUsersFrom(tenant, cursor.p), query.top);
    value = taken.page.map((u) => userResource(u, query.select));
    next = taken.next;
  } else {
    const changes = changesSince(tenant, cursor.since, cursor.upto);
    const taken = takePage(positioned(changes, cursor.p), query.top);
    value = taken.page.map(asDelta);
    next = taken.next;
  }
  const link =
    next !== undefined
      ? { "@odata.nextLink": linkWith(c, c.req.path, "$skiptoken", { ...cursor, p: next }) }
      : { "@odata.deltaLink": linkWith(c, c.req.path, "$deltatoken", { g: state.deltaGeneration, t: tenant.id, v: cursor.upto }) };
  return c.json({ "@odata.context": contextUrl(c, "users", query.select), value, ...link });
});

graph.get("/v1.0/users/:id", (c) => {
  const query = readQuery(c, "user", USER_PROPERTIES);
  if (!query.ok) return query.response;
  const entry = findUser(c.var.tenant, c.req.param("id"));
  if (!entry || entry.deleted) return notFound(c, c.req.param("id"));
  return c.json({ "@odata.context": contextUrl(c, "users/$entity", query.select), ...userResource(entry.user, query.select) });
});

const notFound = (c: GraphContext, id: string) =>
  graphError(
    c,
    404,
    "Request_ResourceNotFound",
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

// The signed-in user's directory roles: how an app checks who may connect a tenant. The demo's
// Global Administrators hold that one role; everyone else holds none.
const GLOBAL_ADMINISTRATOR = {
  displayName: "Global Administrator",
  description: "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
  roleTemplateId: GLOBAL_ADMINISTRATOR_TEMPLATE_ID,
};
const ROLE_PROPERTIES = ["id", "displayName", "description", "roleTemplateId"] as const;

/**
 * A user's directory roles as members of a directoryObject collection. Without a permission that
 * reads directory roles (User.Read.All / Group.Read.All are not), Graph still lists them, but with
 * limited information: the object type and id, every other property null.
 * https://learn.microsoft.com/en-us/graph/permissions-overview#limited-information-returned-for-inaccessible-member-objects
 */
function directoryRolesOf(user: DirectoryUser, scopes: string[], select: string[] | undefined): Record<string, unknown>[] {
  if (!user.globalAdmin) return [];
  const role = { id: `role-${GLOBAL_ADMINISTRATOR.roleTemplateId}`, ...GLOBAL_ADMINISTRATOR };
  const full = readsDirectoryRoles(scopes);
  const visible = full ? role : { id: role.id, displayName: null, description: null, roleTemplateId: null };
  return [{ "@odata.type": "#microsoft.graph.directoryRole", ...project(visible, select) }];
}

graph.get("/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole", (c) => {
  const query = readQuery(c, "directoryRole", ROLE_PROPERTIES);
  if (!query.ok) return query.response;
  const entry = findUser(c.var.tenant, c.var.grant.oid);
  if (!entry || entry.deleted) return notFound(c, c.var.grant.oid);
  return c.json({
    "@odata.context": contextUrl(c, "directoryRoles", query.select),
    value: directoryRolesOf(entry.user, c.var.grant.scope, query.select),
  });
});

// Without the type cast, transitiveMemberOf lists every kind of directory object the user is in:
// groups (in full, the token reads groups) and directory roles (maybe limited, as above).
// https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof
graph.get("/v1.0/:who{me|users/[^/]+}/transitiveMemberOf", (c) => {
  const query = readQuery(c, "directoryObject", [...new Set([...GROUP_PROPERTIES, ...ROLE_PROPERTIES])]);
  if (!query.ok) return query.response;
  const who = c.req.param("who");
  const id = who === "me" ? c.var.grant.oid : decodeURIComponent(who.slice("users/".length));
  const entry = findUser(c.var.tenant, id);
  if (!entry || entry.deleted) return notFound(c, id);
  const skip = readToken<{ p: number }>(c, "$skiptoken");
  if (skip === "malformed") return malformedToken(c);
  const members = [
    ...transitiveGroupsOf(c.var.tenant, entry.user).map((g) => ({
      "@odata.type": "#microsoft.graph.group",
      ...groupResource(g, query.select),
    })),
    ...directoryRolesOf(entry.user, c.var.grant.scope, query.select),
  ];
  const { page, next } = takePage(positioned(members, skip?.p ?? 0), query.top);
  return c.json({
    "@odata.context": contextUrl(c, "directoryObjects", query.select),
    value: page,
    ...(next !== undefined ? { "@odata.nextLink": linkWith(c, c.req.path, "$skiptoken", { p: next }) } : {}),
  });
});

graph.get("/v1.0/users/:id/:relation{transitiveMemberOf/microsoft\\.graph\\.group}", (c) => {
  const query = readQuery(c, "group", GROUP_PROPERTIES);
  if (!query.ok) return query.response;
  const entry = findUser(c.var.tenant, c.req.param("id"));
  if (!entry || entry.deleted) return notFound(c, c.req.param("id"));
  const skip = readToken<{ p: number }>(c, "$skiptoken");
  if (skip === "malformed") return malformedToken(c);
  const { page, next } = takePage(positioned(transitiveGroupsOf(c.var.tenant, entry.user), skip?.p ?? 0), query.top);
  return c.json({
    "@odata.context": contextUrl(c, "groups", query.select),
    value: page.map((g) => groupResource(g, query.select)),
    ...(next !== undefined ? { "@odata.nextLink": linkWith(c, c.req.path, "$skiptoken", { p: next }) } : {}),
  });
});

graph.get("/v1.0/groups", (c) => {
  const query = readQuery(c, "group", GROUP_PROPERTIES, true);
  if (!query.ok) return query.response;
  const matches = groupMatcher(c);
  if (typeof matches !== "function") return matches;
  const skip = readToken<{ p: number }>(c, "$skiptoken");
  if (skip === "malformed") return malformedToken(c);
  const groups = c.var.tenant.groups.filter((g) => matches(g.displayName));
  const { page, next } = takePage(positioned(groups, skip?.p ?? 0), query.top);
  return c.json({
    "@odata.context": contextUrl(c, "groups", query.select),
    value: page.map((g) => groupResource(g, query.select)),
    ...(next !== undefined ? { "@odata.nextLink": linkWith(c, c.req.path, "$skiptoken", { p: next }) } : {}),
  });
});

/** `$filter=startswith(displayName,'x')` or `$search="displayName:x"` (word prefix, eventual). */
function groupMatcher(c: GraphContext): ((name: string) => boolean) | Response {
  const filter = c.req.query("$filter");
  const search = c.req.query("$search");
  if (filter !== undefined) {
    const prefix = /^startswith\(\s*displayName\s*,\s*'((?:[^']|'')*)'\s*\)$/i.exec(filter.trim())?.[1];
    if (prefix === undefined)
      return graphError(
        c,
        400,
        "Request_UnsupportedQuery",
        `Unsupported or invalid query filter clause specified for property or resource: '${filter}'.`,
      );
    const wanted = prefix.replace(/''/g, "'").toLowerCase();
    return (name) => name.toLowerCase().startsWith(wanted);
  }
  if (search !== undefined) {
    if (c.req.header("ConsistencyLevel")?.toLowerCase() !== "eventual") {
      return graphError(
        c,
        400,
        "Request_UnsupportedQuery",
        "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
      );
    }
    const term = /^"displayName:([^"]*)"$/i.exec(search.trim())?.[1];
    if (term === undefined)
      return graphError(c, 400, "Request_UnsupportedQuery", `Unsupported $search clause: '${search}'. Use "displayName:term".`);
    const wanted = term.toLowerCase();
    return (name) =>
      name
        .toLowerCase()
        .split(/[\s\-_.]+/)
        .some((word) => word.startsWith(wanted));
  }
  return () => true;
}

graph.get("/v1.0/groups/:id", (c) => {
  const query = readQuery(c, "group", GROUP_PROPERTIES);
  if (!query.ok) return query.response;
  const group = findGroup(c.var.tenant, c.req.param("id"));
  if (!group) return notFound(c, c.req.param("id"));
  return c.json({ "@odata.context": contextUrl(c, "groups/$entity", query.select), ...groupResource(group, query.select) });
});

graph.get("/v1.0/groups/:id/:relation{(transitiveMembers|members)(/microsoft\\.graph\\.user)?}", (c) => {
  const query = readQuery(c, "user", USER_PROPERTIES);
  if (!query.ok) return query.response;
  const tenant = c.var.tenant;
  const group = findGroup(tenant, c.req.param("id"));
  if (!group) return notFound(c, c.req.param("id"));
  const skip = readToken<{ p: number }>(c, "$skiptoken");
  if (skip === "malformed") return malformedToken(c);
  const transitive = c.req.param("relation").startsWith("transitive");
  const groupIds = transitive ? nestedGroupIds(tenant, group.id) : new Set([group.id]);
  const members = (function* () {
    for (const { position, user } of membersFrom(tenant, groupIds, skip?.p ?? 0)) yield { position, item: user };
  })();
  const { page, next } = takePage(members, query.top);
  return c.json({
    "@odata.context": contextUrl(c, "users", query.select),
    value: page.map((u) => userResource(u, query.select)),
    ...(next !== undefined ? { "@odata.nextLink": linkWith(c, c.req.path, "$skiptoken", { p: next }) } : {}),
  });
});

// Each request inside a batch is counted, and may be faulted, like a request of its own. Built
// last: route() copies the routes graph has at that moment.
const batchedGraph = new Hono<EmulatorContext>();
batchedGraph.use("*", countAndInjectFaults({ batched: true }));
batchedGraph.route("/", graph);
