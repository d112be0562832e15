// Turns a JSON body (POST, PUT, or a PATCH value) into the canonical layout the rest of the
// module works on: attribute names spelled as the schema spells them (names are case-insensitive,
// RFC 7643 §2.1), extension attributes under their schema URN, null meaning "unassigned"
// (RFC 7643 §2.5), readOnly attributes dropped (RFC 7644 §3.5.1), and the providers' documented
// spellings read as what they mean:
// - Microsoft Entra sends booleans as the strings "True"/"False" and a single-valued `manager`
//   as a one-element array, and sends extension attributes unqualified (`department`, `manager`)
//   (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility,
//   https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups);
// - a complex attribute with a "value" sub-attribute may arrive as the bare value
//   (`"manager": "123456"` in the same Entra page's schema example).
// Type errors are `invalidValue`; attributes UniAsset does not keep are listed, not stored.
import { ScimError } from "./errors.ts";
import { findExtension, RESOURCE_SCHEMAS, resolveAttribute, type AttributeDefinition, type ResourceTypeName } from "./schema.ts";

export type JsonObject = Record<string, unknown>;

export interface Normalized {
  /** Canonical names; extension attributes under their URN key. */
  resource: JsonObject;
  /** Attribute names that were sent but are not kept (unknown, readOnly, or not stored by UniAsset). */
  ignored: string[];
}

/**
 * Attributes of RFC 7643's User that providers send by default but UniAsset does not keep:
 * Okta sends `password` and `groups` on create (https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/),
 * Entra sends `roles: []`. UniAsset signs people in with Microsoft or Google, never with a
 * password, and group membership is set through /Groups.
 */
export const NOT_KEPT: Record<ResourceTypeName, readonly string[]> = {
  User: ["password", "groups", "roles", "entitlements", "ims", "photos", "x509Certificates"],
  Group: [],
};

export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Normalises a whole resource body. */
export function normalizeResource(body: unknown, resourceType: ResourceTypeName): Normalized {
  if (!isJsonObject(body)) throw ScimError.invalidSyntax(`The body must be a JSON object describing a ${resourceType}.`);
  const resource: JsonObject = {};
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (lower === "schemas") {
      if (value !== undefined && value !== null && (!Array.isArray(value) || value.some((urn) => typeof urn !== "string"))) {
        throw ScimError.invalidSyntax('"schemas" must be an array of schema URIs.');
      }
      continue;
    }
    const extension = findExtension(resourceType, key);
    if (extension) {
      if (value === null || value === undefined) continue;
      if (!isJsonObject(value)) throw ScimError.invalidValue(`"${extension.id}" must be an object of its attributes.`);
      for (const [name, inner] of Object.entries(value)) {
        const resolved = resolveAttribute(resourceType, `${extension.id}:${name}`);
        if (!resolved || resolved.sub) ignored.push(`${extension.id}:${name}`);
        else assign(resource, resolved.ref.schema, resolved.definition, inner, ignored, resourceType);
      }
      continue;
    }
    const resolved = resolveAttribute(resourceType, key);
    if (!resolved || resolved.sub || NOT_KEPT[resourceType].some((name) => name.toLowerCase() === lower)) {
      ignored.push(key);
      continue;
    }
    assign(resource, resolved.ref.schema, resolved.definition, value, ignored, resourceType);
  }
  return { resource, ignored };
}

function assign(
  resource: JsonObject,
  schema: string,
  definition: AttributeDefinition,
  value: unknown,
  ignored: string[],
  resourceType: ResourceTypeName,
): void {
  if (definition.mutability === "readOnly") {
    if (value !== null && value !== undefined) ignored.push(definition.name);
    return;
  }
  const normalized = normalizeValue(definition, value, definition.name);
  if (normalized === undefined) return;
  if (schema === RESOURCE_SCHEMAS[resourceType].core.id) {
    resource[definition.name] = normalized;
  } else {
    resource[schema] ??= {};
    const container = resource[schema] as JsonObject;
    container[definition.name] = normalized;
  }
}

/**
 * One attribute's value in canonical form, or undefined for "unassigned" (null, an empty list,
 * a complex value with nothing in it).
 */
export function normalizeValue(definition: AttributeDefinition, value: unknown, label: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (definition.multiValued) {
    const list = Array.isArray(value) ? value : [value];
    const items = list.map((item, index) => normalizeSingle(definition, item, `${label}[${index}]`)).filter((item) => item !== undefined);
    return items.length === 0 ? undefined : items;
  }
  // Entra sends the single-valued complex `manager` as a one-element array.
  if (Array.isArray(value) && definition.type === "complex" && value.length <= 1) {
    return value.length === 0 ? undefined : normalizeSingle(definition, value[0], label);
  }
  return normalizeSingle(definition, value, label);
}

function normalizeSingle(definition: AttributeDefinition, value: unknown, label: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (definition.type === "complex") return normalizeComplex(definition, value, label);
  return normalizeSimple(definition, value, label);
}

function normalizeComplex(definition: AttributeDefinition, value: unknown, label: string): JsonObject | undefined {
  const valueSub = definition.subAttributes?.find((sub) => sub.name === "value");
  if (!isJsonObject(value)) {
    if (valueSub && (typeof value === "string" || typeof value === "number")) return { value: String(value) };
    throw ScimError.invalidValue(`"${label}" must be an object.`);
  }
  const out: JsonObject = {};
  for (const [key, inner] of Object.entries(value)) {
    const sub = definition.subAttributes?.find((candidate) => candidate.name.toLowerCase() === key.toLowerCase());
    // Unknown and readOnly sub-attributes (a member's "display", a manager's "displayName") are
    // the server's to compute; the client's copy is not kept.
    if (!sub || sub.mutability === "readOnly") continue;
    const normalized = normalizeSimple(sub, inner, `${label}.${sub.name}`);
    if (normalized !== undefined) out[sub.name] = normalized;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

export function normalizeSimple(definition: AttributeDefinition, value: unknown, label: string): unknown {
  if (value === null || value === undefined) return undefined;
  switch (definition.type) {
    case "boolean":
      if (typeof value === "boolean") return value;
      // Entra's provisioning service sends "True" and "False" (see the file comment).
      if (typeof value === "string" && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === "true";
      throw ScimError.invalidValue(`"${label}" must be true or false.`);
    case "integer":
    case "decimal":
      if (typeof value === "number" && Number.isFinite(value) && (definition.type === "decimal" || Number.isInteger(value))) return value;
      throw ScimError.invalidValue(`"${label}" must be a number.`);
    case "dateTime":
      if (typeof value === "string" && !Number.isNaN(Date.parse(value))) return value;
      throw ScimError.invalidValue(`"${label}" must be a date and time such as "2011-05-13T04:42:34Z".`);
    case "complex":
      throw ScimError.invalidValue(`"${label}" cannot be nested this deep.`);
    default:
      if (typeof value === "string") return value;
      throw ScimError.invalidValue(`"${label}" must be a string.`);
  }
}
