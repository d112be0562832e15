// Evaluates a parsed filter against one in-memory SCIM resource: for PATCH value filters
// (`emails[type eq "work"]`, `members[value eq "…"]`) and for tests. Lists of many resources are
// filtered in SQL by the caller, from the same AST.
import type { CompareFilter, Filter } from "./filter.ts";
import type { AttributeRef } from "./schema.ts";

type Json = unknown;

/**
 * True when `resource` matches `filter`. `resource` uses the wire layout: core attributes at the
 * top, extension attributes under their schema URN. `coreSchema` is the resource type's core URN.
 */
export function matchesFilter(filter: Filter, resource: Record<string, Json>, coreSchema: string): boolean {
  return evaluate(filter, { resource, coreSchema });
}

/** Whether one element of a multi-valued complex attribute matches a value filter's inner filter. */
export function elementMatches(filter: Filter, element: Json): boolean {
  return evaluate(filter, { element });
}

type Scope = { resource: Record<string, Json>; coreSchema: string } | { element: Json };

function evaluate(filter: Filter, scope: Scope): boolean {
  switch (filter.op) {
    case "and":
      return filter.filters.every((inner) => evaluate(inner, scope));
    case "or":
      return filter.filters.some((inner) => evaluate(inner, scope));
    case "not":
      return !evaluate(filter.filter, scope);
    case "valuePath": {
      if (!("resource" in scope)) return false;
      const elements = asList(readTop(scope.resource, scope.coreSchema, filter.attribute));
      return elements.some((element) => evaluate(filter.filter, { element }));
    }
    case "pr":
      return valuesAt(filter.attribute, scope).some(isPresent);
    default:
      return compare(filter, valuesAt(filter.attribute, scope));
  }
}

/** Every value the reference reaches: several for multi-valued attributes (`emails.value`). */
function valuesAt(ref: AttributeRef, scope: Scope): Json[] {
  if ("element" in scope) return asList(ref.subAttribute === undefined ? scope.element : readKey(scope.element, ref.subAttribute));
  const top = readTop(scope.resource, scope.coreSchema, ref);
  if (ref.subAttribute === undefined) return asList(top);
  return asList(top).flatMap((item) => asList(readKey(item, ref.subAttribute!)));
}

function readTop(resource: Record<string, Json>, coreSchema: string, ref: AttributeRef): Json {
  const container = ref.schema === coreSchema ? resource : readKey(resource, ref.schema);
  return readKey(container, ref.attribute);
}

/** Attribute names are case-insensitive (RFC 7643 §2.1), so a resource written by hand still reads. */
export function readKey(value: Json, name: string): Json {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const record = value as Record<string, Json>;
  if (name in record) return record[name];
  const lower = name.toLowerCase();
  const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === lower);
  return key === undefined ? undefined : record[key];
}

function asList(value: Json): Json[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** RFC 7644 §3.4.2.2 "pr": a non-empty value, or a complex value with a non-empty node. */
function isPresent(value: Json): boolean {
  if (value === undefined || value === null || value === "") return false;
  if (Array.isArray(value)) return value.some(isPresent);
  if (typeof value === "object") return Object.values(value).some(isPresent);
  return true;
}

function compare(filter: CompareFilter, values: Json[]): boolean {
  if (filter.value === null) {
    const assigned = values.some(isPresent);
    return filter.op === "eq" ? !assigned : assigned;
  }
  // "ne" is the negation of "eq", so an unassigned attribute is "not equal" to any value.
  if (filter.op === "ne") return !values.some((value) => compareOne({ ...filter, op: "eq" }, value));
  return values.some((value) => compareOne(filter, value));
}

function compareOne(filter: CompareFilter, actual: Json): boolean {
  const expected = filter.value;
  if (filter.type === "boolean") return typeof actual === "boolean" && actual === expected;
  if (filter.type === "integer" || filter.type === "decimal") {
    return typeof actual === "number" && typeof expected === "number" && order(filter.op, actual - expected);
  }
  if (typeof actual !== "string" || typeof expected !== "string") return false;
  if (filter.type === "dateTime") {
    const difference = Date.parse(actual) - Date.parse(expected);
    return !Number.isNaN(difference) && order(filter.op, difference);
  }
  const left = filter.caseExact ? actual : actual.toLowerCase();
  const right = filter.caseExact ? expected : expected.toLowerCase();
  switch (filter.op) {
    case "co":
      return left.includes(right);
    case "sw":
      return left.startsWith(right);
    case "ew":
      return left.endsWith(right);
    default:
      return order(filter.op, left === right ? 0 : left < right ? -1 : 1);
  }
}

function order(op: CompareFilter["op"], difference: number): boolean {
  switch (op) {
    case "eq":
      return difference === 0;
    case "ne":
      return difference !== 0;
    case "gt":
      return difference > 0;
    case "ge":
      return difference >= 0;
    case "lt":
      return difference < 0;
    case "le":
      return difference <= 0;
    default:
      return false;
  }
}
