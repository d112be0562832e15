// The PatchOp message (RFC 7644 §3.5.2): its schema, its Operations, and each operation's op,
// path and value. Operation names are case-insensitive because Microsoft Entra sends "Add",
// "Replace" and "Remove" ("Don't require a case-sensitive match on structural elements in SCIM,
// in particular PATCH op operation values",
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
import { ScimError } from "./errors.ts";
import { isJsonObject } from "./normalize.ts";

export const PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/** More operations than any provider sends in one request; a group's 10,000 new members are one operation. */
export const MAX_PATCH_OPERATIONS = 1_000;

export interface PatchOperation {
  op: "add" | "remove" | "replace";
  path?: string;
  value?: unknown;
}

/** Reads a PATCH body. Throws ScimError `invalidSyntax`, or `noTarget` for a remove without path. */
export function parsePatchRequest(body: unknown): PatchOperation[] {
  if (!isJsonObject(body)) throw ScimError.invalidSyntax("The body must be a JSON PatchOp message.");
  const schemas = attributeOf(body, "schemas");
  if (!Array.isArray(schemas) || !schemas.some((urn) => typeof urn === "string" && urn.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase())) {
    throw ScimError.invalidSyntax(`"schemas" must contain "${PATCH_OP_SCHEMA}".`);
  }
  const operations = attributeOf(body, "Operations");
  if (!Array.isArray(operations) || operations.length === 0) throw ScimError.invalidSyntax('"Operations" must be a non-empty array.');
  if (operations.length > MAX_PATCH_OPERATIONS)
    throw ScimError.invalidSyntax(`A PATCH may hold at most ${MAX_PATCH_OPERATIONS} operations.`);
  return operations.map((operation, index) => parseOperation(operation, index));
}

function parseOperation(operation: unknown, index: number): PatchOperation {
  const where = `Operations[${index}]`;
  if (!isJsonObject(operation)) throw ScimError.invalidSyntax(`${where} must be an object.`);
  const op = attributeOf(operation, "op");
  const name = typeof op === "string" ? op.toLowerCase() : undefined;
  if (name !== "add" && name !== "remove" && name !== "replace") {
    throw ScimError.invalidSyntax(`${where}.op must be "add", "remove" or "replace".`);
  }
  const path = attributeOf(operation, "path");
  if (path !== undefined && path !== null && (typeof path !== "string" || path.trim() === "")) {
    throw ScimError.invalidPath(`${where}.path must be a non-empty string.`);
  }
  const hasValue = Object.keys(operation).some((key) => key.toLowerCase() === "value");
  const value = attributeOf(operation, "value");
  // RFC 7644 §3.5.2.2: a remove without a path "fails with ... noTarget".
  if (name === "remove" && (path === undefined || path === null)) throw ScimError.noTarget(`${where} removes nothing: it has no "path".`);
  if (name !== "remove" && !hasValue) throw ScimError.invalidSyntax(`${where} must have a "value".`);
  return { op: name, ...(typeof path === "string" ? { path: path.trim() } : {}), ...(hasValue ? { value } : {}) };
}

/** The member named `key` in any letter case: SCIM attribute names are case-insensitive (RFC 7643 §2.1). */
function attributeOf(record: Record<string, unknown>, key: string): unknown {
  if (key in record) return record[key];
  const lower = key.toLowerCase();
  const found = Object.keys(record).find((candidate) => candidate.toLowerCase() === lower);
  return found === undefined ? undefined : record[found];
}
