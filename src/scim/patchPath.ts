// PATCH paths (RFC 7644 §3.5.2, Figure 5): PATH = attrPath / valuePath [subAttr].
//   "userName", "name.givenName", "urn:…:enterprise:2.0:User:department",
//   "emails[type eq \"work\"]", "emails[type eq \"work\"].value", "members[value eq \"…\"]",
// and the whole extension, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".
import { ScimError } from "./errors.ts";
import { FilterParser, type Filter } from "./filter.ts";
import { describeToken, tokenize } from "./filterSyntax.ts";
import {
  findExtension,
  resolveAttribute,
  type AttributeDefinition,
  type AttributeRef,
  type ResourceTypeName,
  type SchemaDefinition,
} from "./schema.ts";

export type PatchPath =
  | {
      kind: "attribute";
      /** The top-level attribute (no sub-attribute in the reference). */
      attribute: AttributeRef;
      definition: AttributeDefinition;
      /** Selects elements of a multi-valued complex attribute. */
      filter?: Filter;
      /** `name.givenName`, or `emails[type eq "work"].value`. */
      sub?: AttributeDefinition;
    }
  | { kind: "extension"; schema: SchemaDefinition };

function pathError(path: string, why: string): ScimError {
  return ScimError.invalidPath(`The path "${path}" ${why}.`);
}

/** Parses a PATCH `path`, or a key of a path-less operation's value (Entra sends "name.givenName" keys). */
export function parsePatchPath(path: string, resourceType: ResourceTypeName): PatchPath {
  const extension = findExtension(resourceType, path.trim());
  if (extension) return { kind: "extension", schema: extension };
  const parser = new FilterParser(
    tokenize(path, (detail) => pathError(path, detail)),
    resourceType,
  );
  const first = parser.next();
  if (first.kind !== "word") throw pathError(path, "does not start with an attribute name");
  if (parser.peek().kind !== "[") {
    parser.peek().kind === "end" || failAt(path, parser.peek());
    const resolved = resolveAttribute(resourceType, first.text);
    if (!resolved) throw pathError(path, `names an attribute that ${resourceType} resources do not have`);
    return {
      kind: "attribute",
      attribute: { schema: resolved.ref.schema, attribute: resolved.ref.attribute },
      definition: resolved.definition,
      ...(resolved.sub ? { sub: resolved.sub } : {}),
    };
  }
  const resolved = resolveAttribute(resourceType, first.text);
  if (!resolved) throw pathError(path, `names an attribute that ${resourceType} resources do not have`);
  if (resolved.sub || resolved.definition.type !== "complex" || !resolved.definition.multiValued) {
    throw pathError(path, "uses a value filter on an attribute that is not multi-valued and complex");
  }
  parser.next(); // "["
  const filter = parser.parseFilter({ ref: resolved.ref, definition: resolved.definition });
  parser.expect("]");
  let sub: AttributeDefinition | undefined;
  if (parser.peek().kind === ".") {
    parser.next();
    const subToken = parser.next();
    if (subToken.kind !== "word") throw pathError(path, 'has no sub-attribute after "]."');
    sub = resolved.definition.subAttributes?.find((candidate) => candidate.name.toLowerCase() === subToken.text.toLowerCase());
    if (!sub) throw pathError(path, `names "${subToken.text}", which is not a sub-attribute of ${resolved.definition.name}`);
  }
  parser.peek().kind === "end" || failAt(path, parser.peek());
  return { kind: "attribute", attribute: resolved.ref, definition: resolved.definition, filter, ...(sub ? { sub } : {}) };
}

function failAt(path: string, token: ReturnType<FilterParser["peek"]>): never {
  throw pathError(path, `has ${describeToken(token)} where it should end`);
}
