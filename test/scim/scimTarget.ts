// An in-memory SCIM service provider assembled from src/scim/ the way the routes use it: parse,
// validate, apply, project, page, and answer errors as SCIM error bodies. The provider-replay
// tests send Entra's and Okta's documented requests to it. It stands in for D1 only; every
// protocol decision is the real module's.
import { ScimError, scimErrorBody } from "../../src/scim/errors.ts";
import { matchesFilter } from "../../src/scim/filterEvaluate.ts";
import { applyMembershipChange, planGroupPatch } from "../../src/scim/groupPatch.ts";
import { pageOf, parseListQuery } from "../../src/scim/list.ts";
import { applyUserPatch } from "../../src/scim/patch.ts";
import { parseProjection } from "../../src/scim/projection.ts";
import { groupResource, parseGroupBody, parseUserBody, userResource, type ScimGroup, type ScimUser } from "../../src/scim/resources.ts";
import { GROUP_SCHEMA, USER_SCHEMA } from "../../src/scim/schema.ts";

export interface Reply {
  status: number;
  body?: Record<string, unknown>;
}

const BASE = "https://uniasset.example/scim/v2";

export class ScimTarget {
  readonly users = new Map<string, ScimUser>();
  readonly groups = new Map<string, { group: ScimGroup; members: string[] }>();
  private nextId = 1;

  /** One request: method, path with query, JSON body. */
  send(method: string, pathAndQuery: string, body?: unknown): Reply {
    try {
      return this.route(method, new URL(pathAndQuery, `${BASE}/`), body);
    } catch (error) {
      if (error instanceof ScimError) return { status: error.status, body: { ...scimErrorBody(error) } };
      throw error;
    }
  }

  private route(method: string, url: URL, body: unknown): Reply {
    const [, collection, id] = url.pathname.replace(/^\/scim\/v2/, "").split("/");
    if (collection === "Users") return this.users_(method, url, id, body);
    if (collection === "Groups") return this.groups_(method, url, id, body);
    throw ScimError.notFound(`No endpoint ${url.pathname}.`);
  }

  private users_(method: string, url: URL, id: string | undefined, body: unknown): Reply {
    if (method === "GET" && !id) {
      const query = parseListQuery(url.searchParams, "User");
      const matching = [...this.users.entries()]
        .map(([userId, user]) => this.userOut(userId, user))
        .filter((resource) => !query.filter || matchesFilter(query.filter, resource, USER_SCHEMA));
      const page = pageOf(matching, query);
      return { status: 200, body: { ...page, Resources: page.Resources.map((resource) => query.projection.apply(resource)) } };
    }
    if (method === "POST") {
      const { user } = parseUserBody(body);
      this.assertUniqueUserName(user.userName);
      const newId = `u-${this.nextId++}`;
      this.users.set(newId, user);
      return { status: 201, body: this.userOut(newId, user) };
    }
    const current = id === undefined ? undefined : this.users.get(id);
    if (!id || !current) throw ScimError.notFound(`Resource ${id} not found.`);
    switch (method) {
      case "GET":
        return { status: 200, body: parseProjection(this.projectionParams(url), "User").apply(this.userOut(id, current)) };
      case "PUT": {
        const { user } = parseUserBody(body);
        this.assertUniqueUserName(user.userName, id);
        this.users.set(id, user);
        return { status: 200, body: this.userOut(id, user) };
      }
      case "PATCH": {
        const { user } = applyUserPatch(current, body);
        this.assertUniqueUserName(user.userName, id);
        this.users.set(id, user);
        return { status: 200, body: this.userOut(id, user) };
      }
      case "DELETE":
        this.users.delete(id);
        return { status: 204 };
      default:
        throw ScimError.status(501, `${method} is not supported.`);
    }
  }

  private groups_(method: string, url: URL, id: string | undefined, body: unknown): Reply {
    if (method === "GET" && !id) {
      const query = parseListQuery(url.searchParams, "Group");
      const matching = [...this.groups.entries()]
        .map(([groupId, entry]) => this.groupOut(groupId, entry.group, entry.members))
        .filter((resource) => !query.filter || matchesFilter(query.filter, resource, GROUP_SCHEMA));
      const page = pageOf(matching, query);
      return { status: 200, body: { ...page, Resources: page.Resources.map((resource) => query.projection.apply(resource)) } };
    }
    if (method === "POST") {
      const { group, members } = parseGroupBody(body);
      const newId = `g-${this.nextId++}`;
      this.groups.set(newId, { group, members });
      return { status: 201, body: this.groupOut(newId, group, members) };
    }
    const current = id === undefined ? undefined : this.groups.get(id);
    if (!id || !current) throw ScimError.notFound(`Resource ${id} not found.`);
    switch (method) {
      case "GET": {
        const projection = parseProjection(this.projectionParams(url), "Group");
        return {
          status: 200,
          body: projection.apply(this.groupOut(id, current.group, projection.includes("members") ? current.members : undefined)),
        };
      }
      case "PUT": {
        const { group, members } = parseGroupBody(body);
        this.groups.set(id, { group, members });
        return { status: 200, body: this.groupOut(id, group, members) };
      }
      case "PATCH": {
        const plan = planGroupPatch(current.group, body);
        const unknown = plan.members.add.filter((memberId) => !this.users.has(memberId));
        if (unknown.length > 0) throw ScimError.invalidValue(`No User has the id ${unknown[0]}.`);
        this.groups.set(id, { group: plan.group, members: applyMembershipChange(current.members, plan.members) });
        // Entra: "Update to the group PATCH request should yield an HTTP 204 No Content".
        return { status: 204 };
      }
      case "DELETE":
        this.groups.delete(id);
        return { status: 204 };
      default:
        throw ScimError.status(501, `${method} is not supported.`);
    }
  }

  private projectionParams(url: URL) {
    return { attributes: url.searchParams.get("attributes"), excludedAttributes: url.searchParams.get("excludedAttributes") };
  }

  private assertUniqueUserName(userName: string, except?: string): void {
    for (const [id, user] of this.users) {
      if (id !== except && user.userName.toLowerCase() === userName.toLowerCase()) {
        throw ScimError.uniqueness(`A User with the userName "${userName}" already exists.`);
      }
    }
  }

  private userOut(id: string, user: ScimUser) {
    return userResource(user, {
      id,
      created: "2026-01-01T00:00:00.000Z",
      lastModified: "2026-01-01T00:00:00.000Z",
      location: `${BASE}/Users/${id}`,
    });
  }

  private groupOut(id: string, group: ScimGroup, members?: string[]) {
    const memberList = members?.map((value) => ({ value, $ref: `${BASE}/Users/${value}` }));
    return groupResource(
      group,
      { id, created: "2026-01-01T00:00:00.000Z", lastModified: "2026-01-01T00:00:00.000Z", location: `${BASE}/Groups/${id}` },
      memberList,
    );
  }
}
