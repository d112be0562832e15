// OData query handling shared by the Graph routes: $select, $top, $skiptoken paging and the
// @odata annotations, answering malformed queries with Graph's own error codes.
import type { Context } from "hono";
import type { DirectoryGroup, DirectoryUser } from "./directory.ts";
import type { EmulatorContext } from "./env.ts";
import { graphError } from "./errors.ts";
import { decodeJson, encodeJson } from "./util.ts";

// Graph returns only a default set of user properties unless $select names others; accountEnabled
// and userType are among those that must be selected.
// https://learn.microsoft.com/en-us/graph/api/user-list ("By default, only a limited set of properties are returned")
export const DEFAULT_USER_PROPERTIES = [
  "businessPhones",
  "displayName",
  "givenName",
  "jobTitle",
  "mail",
  "mobilePhone",
  "officeLocation",
  "preferredLanguage",
  "surname",
  "userPrincipalName",
  "id",
] as const;
// Work-profile properties are returned only when selected, like accountEnabled.
// https://learn.microsoft.com/en-us/graph/api/resources/user (department, employeeId, employeeOrgData)
export const USER_PROPERTIES = [
  ...DEFAULT_USER_PROPERTIES,
  "userType",
  "accountEnabled",
  "department",
  "employeeId",
  "employeeOrgData",
] as const;
export const ORGANIZATION_PROPERTIES = ["id", "displayName", "tenantType", "verifiedDomains"] as const;
export const GROUP_PROPERTIES = ["id", "displayName", "description", "mail", "mailEnabled", "securityEnabled", "groupTypes"] as const;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 999;

// Any Graph route's context: the routes add Variables, these helpers only need bindings and the request.
// biome-ignore lint/suspicious/noExplicitAny: Hono's Context is invariant in Variables, so only `any` accepts every route's own.
export type GraphContext = Context<EmulatorContext & { Variables: any }, string>;
export type Query = { ok: true; select: string[] | undefined; top: number } | { ok: false; response: Response };

/** Reads $select and $top (or `Prefer: odata.maxpagesize`) against a type's properties. */
export function readQuery(c: GraphContext, type: string, properties: readonly string[], filters = false): Query {
  // Options the emulator does not implement fail loudly rather than being silently ignored.
  const unsupported = ["$orderby", "$expand", ...(filters ? [] : ["$filter", "$search"])].find((o) => c.req.query(o) !== undefined);
  if (unsupported) {
    return {
      ok: false,
      response: graphError(
        c,
        400,
        "Request_UnsupportedQuery",
        `The query option '${unsupported}' is not supported on this resource by the emulator.`,
      ),
    };
  }
  const rawSelect = c.req.query("$select");
  let select: string[] | undefined;
  if (rawSelect !== undefined) {
    select = rawSelect
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    const unknown = select.find((p) => !properties.includes(p));
    if (unknown) {
      return {
        ok: false,
        response: graphError(
          c,
          400,
          "Request_BadRequest",
          `Parsing OData Select and Expand failed: Could not find a property named '${unknown}' on type 'microsoft.graph.${type}'.`,
        ),
      };
    }
  }
  const preferred = /odata\.maxpagesize=(\d+)/.exec(c.req.header("Prefer") ?? "")?.[1];
  const rawTop = c.req.query("$top") ?? preferred;
  const top = rawTop === undefined ? DEFAULT_PAGE_SIZE : Number(rawTop);
  if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE_SIZE) {
    return {
      ok: false,
      response: graphError(
        c,
        400,
        "Request_BadRequest",
        `Invalid page size specified: '${rawTop}'. Must be between 1 and ${MAX_PAGE_SIZE} inclusive.`,
      ),
    };
  }
  return { ok: true, select, top };
}

/** Only the selected properties, `id` always included, as Graph does. */
export function project(entity: Record<string, unknown>, select: readonly string[] | undefined): Record<string, unknown> {
  if (!select) return entity;
  const out: Record<string, unknown> = select.includes("id") ? {} : { id: entity.id };
  for (const p of select) out[p] = entity[p] ?? null;
  return out;
}

export function userResource(user: DirectoryUser, select: string[] | undefined): Record<string, unknown> {
  // The demo directory keeps no phone or language data: Graph's empty values for them.
  const [givenName, ...rest] = user.displayName.split(" ");
  const profile = user.profile;
  const full: Record<string, unknown> = {
    businessPhones: [],
    displayName: user.displayName,
    givenName: givenName || null,
    jobTitle: profile?.jobTitle ?? null,
    mail: user.mail,
    mobilePhone: null,
    officeLocation: profile?.officeLocation ?? null,
    preferredLanguage: null,
    surname: rest.length > 0 ? rest.join(" ") : null,
    userPrincipalName: user.userPrincipalName,
    id: user.id,
    userType: user.userType,
    accountEnabled: user.accountEnabled,
    department: profile?.department ?? null,
    employeeId: profile?.employeeId ?? null,
    employeeOrgData: profile?.employeeOrgData ?? null,
  };
  const projected = project(
    full,
    (select ?? [...DEFAULT_USER_PROPERTIES]).filter((p) => p !== "manager"),
  );
  if (!select?.includes("manager")) return projected;
  // A delta round's `manager` is a relationship: "manager@delta" names the manager by id, and lists
  // nobody once the manager is removed. https://learn.microsoft.com/en-us/graph/api/user-delta
  const managerId = profile?.managerId ?? null;
  return { ...projected, "manager@delta": managerId ? [{ "@odata.type": "#microsoft.graph.user", id: managerId }] : [] };
}

export function groupResource(group: DirectoryGroup, select: string[] | undefined): Record<string, unknown> {
  return project(
    {
      id: group.id,
      displayName: group.displayName,
      description: null,
      mail: null,
      mailEnabled: false,
      securityEnabled: true,
      groupTypes: [],
    },
    select,
  );
}

/** This request's URL with one paging token replaced (or, without a token, removed): nextLink and deltaLink are absolute. */
export function linkWith(c: GraphContext, path: string, token: "$skiptoken" | "$deltatoken" | undefined, value: unknown): string {
  const parts = Object.entries(c.req.query())
    .filter(([name]) => name !== "$skiptoken" && name !== "$deltatoken")
    .map(([name, v]) => `${name}=${encodeURIComponent(v)}`);
  if (token) parts.push(`${token}=${encodeJson(value)}`);
  return `${c.env.EMULATOR_ORIGIN}${path}${parts.length > 0 ? `?${parts.join("&")}` : ""}`;
}

export function readToken<T>(c: GraphContext, name: "$skiptoken" | "$deltatoken"): T | undefined | "malformed" {
  const raw = c.req.query(name);
  if (raw === undefined) return undefined;
  return decodeJson<T>(raw) ?? "malformed";
}

export function contextUrl(c: GraphContext, entitySet: string, select: string[] | undefined): string {
  return `${c.env.EMULATOR_ORIGIN}/v1.0/$metadata#${entitySet}${select ? `(${select.join(",")})` : ""}`;
}

/** Takes one page from a positioned sequence; the next item's position becomes the skiptoken. */
export function takePage<T>(items: Iterable<{ position: number; item: T }>, top: number): { page: T[]; next: number | undefined } {
  const page: T[] = [];
  for (const { position, item } of items) {
    if (page.length === top) return { page, next: position };
    page.push(item);
  }
  return { page, next: undefined };
}

export function* positioned<T>(list: T[], from: number): Generator<{ position: number; item: T }> {
  for (let position = from; position < list.length; position++) yield { position, item: list[position]! };
}
