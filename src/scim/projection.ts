// `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5 and §3.9): which attributes a
// response carries. `id` is returned always and `schemas` is kept so the body stays a resource.
// An attribute name UniAsset does not know is left out of the selection rather than refused: it
// cannot make a response wrong, only shorter, unlike an unknown attribute in a filter.
import { isJsonObject, type JsonObject } from "./normalize.ts";
import { findExtension, RESOURCE_SCHEMAS, resolveAttribute, type ResourceTypeName } from "./schema.ts";

interface Selector {
  schema: string;
  /** Absent: the whole extension. */
  attribute?: string;
  subAttribute?: string;
}

export interface Projection {
  /** Whether the response will carry this top-level attribute (e.g. "members"): read it only if so. */
  includes(attribute: string): boolean;
  /** The resource (wire form) with only the selected attributes. */
  apply(resource: JsonObject): JsonObject;
}

export function parseProjection(
  query: { attributes?: string | null; excludedAttributes?: string | null },
  resourceType: ResourceTypeName,
): Projection {
  const attributes = query.attributes ? parseList(query.attributes, resourceType) : undefined;
  const excluded = query.excludedAttributes ? parseList(query.excludedAttributes, resourceType) : [];
  const core = RESOURCE_SCHEMAS[resourceType].core.id;
  return {
    includes(attribute) {
      const lower = attribute.toLowerCase();
      const named = (selector: Selector) => selector.schema === core && selector.attribute?.toLowerCase() === lower;
      if (lower === "id") return true;
      if (excluded.some((selector) => named(selector) && !selector.subAttribute)) return false;
      return attributes === undefined || attributes.some(named);
    },
    apply(resource) {
      let projected = attributes === undefined ? structuredClone(resource) : select(resource, attributes, core);
      for (const selector of excluded) projected = remove(projected, selector, core);
      projected.id = resource.id;
      return withSchemas(projected, resourceType);
    },
  };
}

function parseList(text: string, resourceType: ResourceTypeName): Selector[] {
  const selectors: Selector[] = [];
  for (const item of text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)) {
    const extension = findExtension(resourceType, item);
    if (extension) {
      selectors.push({ schema: extension.id });
      continue;
    }
    const resolved = resolveAttribute(resourceType, item);
    if (resolved) selectors.push(resolved.ref);
  }
  return selectors;
}

function containerOf(resource: JsonObject, schema: string, core: string): JsonObject | undefined {
  if (schema === core) return resource;
  const container = resource[schema];
  return isJsonObject(container) ? container : undefined;
}

function select(resource: JsonObject, selectors: Selector[], core: string): JsonObject {
  const out: JsonObject = {};
  for (const selector of selectors) {
    const source = containerOf(resource, selector.schema, core);
    if (!source) continue;
    if (selector.attribute === undefined) {
      out[selector.schema] = structuredClone(source);
      continue;
    }
    const value = source[selector.attribute];
    if (value === undefined) continue;
    if (selector.schema !== core) out[selector.schema] ??= {};
    const target = selector.schema === core ? out : (out[selector.schema] as JsonObject);
    target[selector.attribute] =
      selector.subAttribute === undefined ? structuredClone(value) : mergeSub(target[selector.attribute], value, selector.subAttribute);
    if (target[selector.attribute] === undefined) delete target[selector.attribute];
  }
  return out;
}

/** `emails.value` keeps each element's value; `name.givenName` keeps the one sub-attribute. */
function mergeSub(already: unknown, value: unknown, sub: string): unknown {
  if (Array.isArray(value)) {
    const previous = Array.isArray(already) ? already : [];
    const merged = value.map((element, index) => {
      const kept = isJsonObject(previous[index]) ? { ...previous[index] } : {};
      if (isJsonObject(element) && element[sub] !== undefined) kept[sub] = element[sub];
      return kept;
    });
    return merged.some((element) => Object.keys(element).length > 0) ? merged : undefined;
  }
  if (!isJsonObject(value) || value[sub] === undefined) return already;
  return { ...(isJsonObject(already) ? already : {}), [sub]: value[sub] };
}

function remove(resource: JsonObject, selector: Selector, core: string): JsonObject {
  if (selector.attribute === undefined) {
    delete resource[selector.schema];
    return resource;
  }
  if (selector.schema === core && selector.attribute === "id") return resource;
  const container = containerOf(resource, selector.schema, core);
  if (!container) return resource;
  if (selector.subAttribute === undefined) {
    delete container[selector.attribute];
  } else {
    const value = container[selector.attribute];
    for (const element of Array.isArray(value) ? value : [value]) if (isJsonObject(element)) delete element[selector.subAttribute];
  }
  if (selector.schema !== core && Object.keys(container).length === 0) delete resource[selector.schema];
  return resource;
}

/** `schemas` lists the core schema and each extension the projected resource still carries. */
function withSchemas(projected: JsonObject, resourceType: ResourceTypeName): JsonObject {
  const { core, extensions } = RESOURCE_SCHEMAS[resourceType];
  const schemas = [core.id, ...extensions.filter((extension) => projected[extension.id] !== undefined).map((extension) => extension.id)];
  const { id, ...rest } = projected;
  delete rest.schemas;
  return { schemas, id, ...rest };
}
