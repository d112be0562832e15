// Query parameters of a list request (/Users, /Groups: RFC 7644 §3.4.2) and the ListResponse
// body (§3.4.2.4). Paging is by startIndex (1-based) and count, capped at MAX_PAGE_SIZE, which
// /ServiceProviderConfig states as filter.maxResults. Sorting is optional in RFC 7644 §3.4.2.3
// and UniAsset says it has none ("sort": {"supported": false}); sortBy and sortOrder are ignored,
// so a client that sends them still gets its pages, in the one stable order the caller lists in.
import { ScimError } from "./errors.ts";
import { parseFilter, type Filter } from "./filter.ts";
import { parseProjection, type Projection } from "./projection.ts";
import type { ResourceTypeName } from "./schema.ts";

export const LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/** The most resources one page holds; Okta pages with count=100. */
export const MAX_PAGE_SIZE = 100;

export interface ListQuery {
  filter?: Filter;
  /** 1-based index of the first result. */
  startIndex: number;
  /** How many to return, 0…MAX_PAGE_SIZE; 0 asks only for totalResults. */
  count: number;
  projection: Projection;
}

export interface ListResponse<T> {
  schemas: [typeof LIST_RESPONSE_SCHEMA];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: T[];
}

/** Reads `filter`, `startIndex`, `count`, `attributes` and `excludedAttributes`. Throws ScimError. */
export function parseListQuery(params: URLSearchParams, resourceType: ResourceTypeName): ListQuery {
  const read = (name: string): string | null => {
    const lower = name.toLowerCase();
    for (const [key, value] of params) if (key.toLowerCase() === lower) return value;
    return null;
  };
  const filterText = read("filter");
  const filter = filterText === null || filterText.trim() === "" ? undefined : parseFilter(filterText, resourceType);
  // RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1", and a negative count as 0.
  const startIndex = Math.max(1, wholeNumber(read("startIndex"), "startIndex") ?? 1);
  const count = Math.min(MAX_PAGE_SIZE, Math.max(0, wholeNumber(read("count"), "count") ?? MAX_PAGE_SIZE));
  const projection = parseProjection({ attributes: read("attributes"), excludedAttributes: read("excludedAttributes") }, resourceType);
  return { ...(filter ? { filter } : {}), startIndex, count, projection };
}

function wholeNumber(text: string | null, name: string): number | undefined {
  if (text === null || text.trim() === "") return undefined;
  if (!/^\s*-?\d{1,15}\s*$/.test(text)) throw ScimError.invalidValue(`"${name}" must be a whole number.`);
  return Number(text);
}

/** The ListResponse for one page. `totalResults` counts every match, not only this page. */
export function listResponse<T>(resources: T[], page: { totalResults: number; startIndex: number }): ListResponse<T> {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: page.totalResults,
    startIndex: page.startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/** One page of an in-memory list (the discovery endpoints, tests). Lists in D1 page in SQL with the same numbers. */
export function pageOf<T>(all: T[], query: Pick<ListQuery, "startIndex" | "count">): ListResponse<T> {
  return listResponse(all.slice(query.startIndex - 1, query.startIndex - 1 + query.count), {
    totalResults: all.length,
    startIndex: query.startIndex,
  });
}
