// Applies PATCH operations (RFC 7644 §3.5.2) to a User held in memory, and says which attributes
// changed. Groups are planned differently (groupPatch.ts) because their members are not held in
// memory. Paths are resolved against the schema, so names are case-insensitive and an unknown
// attribute is `invalidPath`; values are normalised as a POST body's are (normalize.ts), so
// Entra's "False" is false here too. src/scim/README.md says why this is not the scim-patch library.
import { ScimError } from "./errors.ts";
import type { Filter } from "./filter.ts";
import { elementMatches } from "./filterEvaluate.ts";
import { jsonCopy, jsonEqual } from "./json.ts";
import { isJsonObject, normalizeSimple, normalizeValue, NOT_KEPT, type JsonObject } from "./normalize.ts";
import { parsePatchPath, type PatchPath } from "./patchPath.ts";
import { parsePatchRequest, type PatchOperation } from "./patchRequest.ts";
import { validateUser, type ScimUser } from "./resources.ts";
import { attributeLabel, RESOURCE_SCHEMAS, type AttributeDefinition, type ResourceTypeName } from "./schema.ts";

export interface UserPatchResult {
  user: ScimUser;
  /** Attributes whose value changed: "active", "name.givenName", "emails", "urn:…:enterprise:2.0:User:department". */
  changed: string[];
  /** Attributes the request set that UniAsset does not keep (a password, roles). */
  ignored: string[];
}

/** Applies a PATCH body to a User. Throws ScimError; `current` is not modified. */
export function applyUserPatch(current: ScimUser, body: unknown): UserPatchResult {
  const operations = parsePatchRequest(body);
  const ignored: string[] = [];
  const patched = applyOperations(current as JsonObject, operations, "User", ignored);
  const user = validateUser(patched);
  return { user, changed: changedAttributes(current as JsonObject, user as JsonObject, "User"), ignored };
}

/** Applies parsed operations to a copy of a canonical resource. */
export function applyOperations(
  current: JsonObject,
  operations: PatchOperation[],
  resourceType: ResourceTypeName,
  ignored: string[] = [],
): JsonObject {
  const resource = jsonCopy(current);
  for (const operation of operations) {
    if (operation.path === undefined) applyWithoutPath(resource, operation, resourceType, ignored);
    else if (isNotKept(operation.path, resourceType)) ignored.push(operation.path);
    else applyAtPath(resource, operation.op, operation.path, operation.value, resourceType, ignored);
  }
  return resource;
}

/**
 * RFC 7644 §3.5.2.1/3: without a path, `value` is an object whose keys are attributes. Entra's
 * keys are paths ("name.givenName", "urn:…:User:employeeNumber"), so each key is read as one.
 * Okta's group rename carries the group's own `id`, which is readOnly and so ignored.
 */
function applyWithoutPath(resource: JsonObject, operation: PatchOperation, resourceType: ResourceTypeName, ignored: string[]): void {
  if (!isJsonObject(operation.value))
    throw ScimError.invalidValue(`An "${operation.op}" without a path needs an object of attributes as its value.`);
  for (const [key, value] of Object.entries(operation.value)) {
    const lower = key.toLowerCase();
    if (lower === "id" || lower === "meta" || lower === "schemas") continue;
    if (isNotKept(key, resourceType)) ignored.push(key);
    else applyAtPath(resource, operation.op, key, value, resourceType, ignored);
  }
}

function isNotKept(path: string, resourceType: ResourceTypeName): boolean {
  const name = path.split(/[.[]/)[0]!.toLowerCase();
  return NOT_KEPT[resourceType].some((candidate) => candidate.toLowerCase() === name);
}

function applyAtPath(
  resource: JsonObject,
  op: PatchOperation["op"],
  pathText: string,
  value: unknown,
  resourceType: ResourceTypeName,
  ignored: string[],
): void {
  const path = parsePatchPath(pathText, resourceType);
  if (path.kind === "extension") {
    const urn = path.schema.id;
    if (op === "remove") {
      delete resource[urn];
      return;
    }
    if (!isJsonObject(value)) throw ScimError.invalidValue(`"${urn}" must be given an object of its attributes.`);
    for (const [key, inner] of Object.entries(value)) applyAtPath(resource, op, `${urn}:${key}`, inner, resourceType, ignored);
    return;
  }
  const label = attributeLabel({ ...path.attribute, ...(path.sub ? { subAttribute: path.sub.name } : {}) }, resourceType);
  if (path.definition.mutability === "readOnly" || path.sub?.mutability === "readOnly")
    throw ScimError.mutability(`"${label}" is read-only.`);
  const isCore = path.attribute.schema === RESOURCE_SCHEMAS[resourceType].core.id;
  if (!isCore) resource[path.attribute.schema] ??= {};
  const container = isCore ? resource : (resource[path.attribute.schema] as JsonObject);
  if (path.filter) applyFiltered(container, path, path.filter, op, value, pathText, label);
  else if (path.sub) applySub(container, path.definition, path.sub, op, value, label);
  else applyWhole(container, path.definition, op, value, label);
  if (!isCore && Object.keys(container).length === 0) delete resource[path.attribute.schema];
}

/** `userName`, `emails`, `name`, `manager`: the whole attribute. */
function applyWhole(container: JsonObject, definition: AttributeDefinition, op: PatchOperation["op"], value: unknown, label: string): void {
  const name = definition.name;
  if (op === "remove") {
    // Entra (without its compliance flag) removes values by listing them:
    // {"op":"Remove","path":"members","value":[{"value":"u1091"}]}.
    if (definition.multiValued && value !== undefined && value !== null) removeListedValues(container, definition, value, label);
    else delete container[name];
    return;
  }
  const normalized = normalizeValue(definition, value, label);
  if (normalized === undefined) {
    // "replace" with null unassigns; "add" of nothing adds nothing.
    if (op === "replace") delete container[name];
    return;
  }
  if (definition.multiValued) {
    const additions = normalized as JsonObject[];
    if (op === "replace") {
      container[name] = additions;
      return;
    }
    const existing = elementsOf(container, name);
    const fresh = additions.filter((item) => !existing.some((present) => jsonEqual(present, item)));
    if (fresh.some((item) => item.primary === true)) demotePrimaries(existing);
    container[name] = [...existing, ...fresh];
    return;
  }
  // RFC 7644 §3.5.2.1 and §3.5.2.3: a complex value's sub-attributes are merged, the others kept.
  if (definition.type === "complex") {
    const present = isJsonObject(container[name]) ? container[name] : {};
    container[name] = { ...present, ...(normalized as JsonObject) };
    return;
  }
  container[name] = normalized;
}

/** `name.givenName`, and `emails.value` (every element) without a filter. */
function applySub(
  container: JsonObject,
  definition: AttributeDefinition,
  sub: AttributeDefinition,
  op: PatchOperation["op"],
  value: unknown,
  label: string,
): void {
  const name = definition.name;
  const newValue = op === "remove" ? undefined : normalizeSimple(sub, value, label);
  if (definition.multiValued) {
    const elements = elementsOf(container, name);
    if (elements.length === 0) {
      if (newValue !== undefined) container[name] = [{ [sub.name]: newValue }];
      return;
    }
    for (const element of elements) setOrDelete(element, sub.name, newValue);
    keepNonEmpty(container, name, elements);
    return;
  }
  const present: JsonObject = isJsonObject(container[name]) ? container[name] : {};
  setOrDelete(present, sub.name, newValue);
  if (Object.keys(present).length === 0) delete container[name];
  else container[name] = present;
}

/** `emails[type eq "work"]` and `emails[type eq "work"].value`. */
function applyFiltered(
  container: JsonObject,
  path: Extract<PatchPath, { kind: "attribute" }>,
  filter: Filter,
  op: PatchOperation["op"],
  value: unknown,
  pathText: string,
  label: string,
): void {
  const { definition, sub } = path;
  const name = definition.name;
  const elements = elementsOf(container, name);
  const matched = elements.filter((element) => elementMatches(filter, element));
  if (op === "remove") {
    // Removing what is not there leaves the resource as the client wants it, so it is no error:
    // Entra and Okta repeat removals when they retry.
    if (sub) for (const element of matched) delete element[sub.name];
    keepNonEmpty(container, name, sub ? elements : elements.filter((element) => !matched.includes(element)));
    return;
  }
  const seed = equalitySeed(filter);
  if (matched.length === 0) {
    // RFC 7644 §3.5.2.3 makes an unmatched filter `noTarget`. But Entra replaces
    // `emails[type eq "work"].value` on users who have no work email yet and expects it added
    // (the "Update User [Multi-valued properties]" request of
    // https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups);
    // when the filter only says which type the value has, that element can be created.
    if (!seed) throw ScimError.noTarget(`No value of "${label}" matches the filter in "${pathText}".`);
    const element = sub ? subElement(sub, value, label, seed) : { ...seed, ...wholeElement(definition, value, label) };
    if (!element) return;
    if (element.primary === true) demotePrimaries(elements);
    container[name] = [...elements, element];
    return;
  }
  for (const element of matched) {
    if (sub) {
      setOrDelete(element, sub.name, normalizeSimple(sub, value, label));
      continue;
    }
    const replacement = wholeElement(definition, value, label);
    // RFC 7644 §3.5.2.3: matching values "SHALL be replaced"; an add merges into them.
    if (op === "replace") for (const key of Object.keys(element)) delete element[key];
    Object.assign(element, op === "replace" ? { ...seed, ...replacement } : replacement);
  }
  if (matched.some((element) => element.primary === true)) demotePrimaries(elements.filter((element) => !matched.includes(element)));
  keepNonEmpty(container, name, elements);
}

function subElement(sub: AttributeDefinition, value: unknown, label: string, seed: JsonObject): JsonObject | undefined {
  const normalized = normalizeSimple(sub, value, label);
  return normalized === undefined ? undefined : { ...seed, [sub.name]: normalized };
}

function wholeElement(definition: AttributeDefinition, value: unknown, label: string): JsonObject {
  const single = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (!isJsonObject(single)) throw ScimError.invalidValue(`"${label}" must be given one object.`);
  const [element] = (normalizeValue(definition, [single], label) as JsonObject[] | undefined) ?? [{}];
  return element ?? {};
}

/**
 * The sub-attribute values a filter of `eq` comparisons joined by `and` pins down
 * (`type eq "work"` gives {type: "work"}), or undefined when it says more than that.
 */
export function equalitySeed(filter: Filter): JsonObject | undefined {
  if (filter.op === "eq" && filter.attribute.subAttribute && filter.value !== null)
    return { [filter.attribute.subAttribute]: filter.value };
  if (filter.op !== "and") return undefined;
  const seed: JsonObject = {};
  for (const inner of filter.filters) {
    const part = equalitySeed(inner);
    if (!part) return undefined;
    Object.assign(seed, part);
  }
  return seed;
}

/** Entra's remove-by-value: elements whose "value" (or, without one, the whole element) is listed. */
function removeListedValues(container: JsonObject, definition: AttributeDefinition, value: unknown, label: string): void {
  const listed = (normalizeValue(definition, value, label) as JsonObject[] | undefined) ?? [];
  const valueSub = definition.subAttributes?.find((sub) => sub.name === "value");
  const same = (element: JsonObject, item: JsonObject) =>
    valueSub && item.value !== undefined ? sameText(element.value, item.value, valueSub.caseExact) : jsonEqual(element, item);
  keepNonEmpty(
    container,
    definition.name,
    elementsOf(container, definition.name).filter((element) => !listed.some((item) => same(element, item))),
  );
}

function sameText(left: unknown, right: unknown, caseExact: boolean): boolean {
  if (typeof left !== "string" || typeof right !== "string") return left === right;
  return caseExact ? left === right : left.toLowerCase() === right.toLowerCase();
}

function elementsOf(container: JsonObject, name: string): JsonObject[] {
  const value = container[name];
  return Array.isArray(value) ? value.filter(isJsonObject) : [];
}

/** RFC 7643 §2.4: only one value may be primary, so a new primary demotes the others. */
function demotePrimaries(elements: JsonObject[]): void {
  for (const element of elements) if (element.primary === true) element.primary = false;
}

function setOrDelete(record: JsonObject, key: string, value: unknown): void {
  if (value === undefined) delete record[key];
  else record[key] = value;
}

/** RFC 7644 §3.5.2.2: a multi-valued attribute left with no values is unassigned. */
function keepNonEmpty(container: JsonObject, name: string, elements: JsonObject[]): void {
  const remaining = elements.filter((element) => Object.keys(element).length > 0);
  if (remaining.length === 0) delete container[name];
  else container[name] = remaining;
}

/** The attributes whose values differ, named as in paths; complex single-valued ones by sub-attribute. */
export function changedAttributes(before: JsonObject, after: JsonObject, resourceType: ResourceTypeName): string[] {
  const { core, extensions } = RESOURCE_SCHEMAS[resourceType];
  const changed: string[] = [];
  const compare = (schema: string, definitions: AttributeDefinition[], left: JsonObject, right: JsonObject) => {
    for (const definition of definitions) {
      const [a, b] = [left[definition.name], right[definition.name]];
      if (jsonEqual(a, b)) continue;
      if (definition.type === "complex" && !definition.multiValued && definition.subAttributes) {
        for (const sub of definition.subAttributes) {
          const [x, y] = [isJsonObject(a) ? a[sub.name] : undefined, isJsonObject(b) ? b[sub.name] : undefined];
          if (!jsonEqual(x, y)) changed.push(attributeLabel({ schema, attribute: definition.name, subAttribute: sub.name }, resourceType));
        }
      } else {
        changed.push(attributeLabel({ schema, attribute: definition.name }, resourceType));
      }
    }
  };
  compare(core.id, core.attributes, before, after);
  for (const extension of extensions) {
    const left = isJsonObject(before[extension.id]) ? (before[extension.id] as JsonObject) : {};
    const right = isJsonObject(after[extension.id]) ? (after[extension.id] as JsonObject) : {};
    compare(extension.id, extension.attributes, left, right);
  }
  return changed;
}
