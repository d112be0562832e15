// The SCIM filter grammar (RFC 7644 §3.4.2.2) as a small recursive-descent parser that resolves
// every attribute against the schemas UniAsset supports. An attribute UniAsset does not know is an
// `invalidFilter` error, never a filter that matches nothing: a provider that asks
// `userName eq "x"` and gets an empty list creates a duplicate. src/scim/README.md says why this
// is not a library.
//
// The AST is plain data: attributes are resolved references with their type and caseExact, so
// the evaluator (filterEvaluate.ts) and a later SQL compiler read the same tree.
import { ScimError } from "./errors.ts";
import { describeToken, tokenize, type Token } from "./filterSyntax.ts";
import { resolveAttribute, type AttributeDefinition, type AttributeRef, type AttributeType, type ResourceTypeName } from "./schema.ts";

export const COMPARE_OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"] as const;
export type CompareOperator = (typeof COMPARE_OPERATORS)[number];
export type FilterValue = string | number | boolean | null;

export interface CompareFilter {
  op: CompareOperator;
  attribute: AttributeRef;
  /** The compared attribute's type and case rule, copied from the schema for evaluators and SQL. */
  type: AttributeType;
  caseExact: boolean;
  value: FilterValue;
}
export interface PresentFilter {
  op: "pr";
  attribute: AttributeRef;
}
export interface LogicalFilter {
  op: "and" | "or";
  /** Two or more: "a and b and c" is one node. */
  filters: Filter[];
}
export interface NotFilter {
  op: "not";
  filter: Filter;
}
/**
 * `emails[type eq "work" and value co "@example.com"]`: true when one element of the multi-valued
 * attribute satisfies `filter`, whose attributes are sub-attributes of `attribute`.
 */
export interface ValuePathFilter {
  op: "valuePath";
  attribute: AttributeRef;
  filter: Filter;
}
export type Filter = CompareFilter | PresentFilter | LogicalFilter | NotFilter | ValuePathFilter;

/** Limits that keep a hostile filter from costing much: providers send one or two terms. */
export const MAX_FILTER_TERMS = 50;
export const MAX_FILTER_DEPTH = 10;

const ORDERING: ReadonlySet<CompareOperator> = new Set(["gt", "ge", "lt", "le"]);
const SUBSTRING: ReadonlySet<CompareOperator> = new Set(["co", "sw", "ew"]);

/** Parses a `filter` query parameter for /Users or /Groups. Throws ScimError `invalidFilter`. */
export function parseFilter(text: string, resourceType: ResourceTypeName): Filter {
  const parser = new FilterParser(tokenize(text, filterError), resourceType);
  const filter = parser.parseFilter();
  parser.expectEnd();
  return filter;
}

function filterError(detail: string): ScimError {
  return ScimError.invalidFilter(`The filter ${detail}.`);
}

/**
 * The parser over a token list. Exported for PATCH paths, whose value filters
 * (`members[value eq "…"]`) are the same grammar.
 */
export class FilterParser {
  private readonly tokens: Token[];
  private readonly resourceType: ResourceTypeName;
  private position = 0;
  private terms = 0;
  private depth = 0;

  constructor(tokens: Token[], resourceType: ResourceTypeName) {
    this.tokens = tokens;
    this.resourceType = resourceType;
  }

  peek(): Token {
    return this.tokens[this.position]!;
  }

  next(): Token {
    const token = this.tokens[this.position]!;
    if (token.kind !== "end") this.position += 1;
    return token;
  }

  expectEnd(): void {
    const token = this.peek();
    if (token.kind !== "end") throw filterError(`has ${describeToken(token)} where it should end (position ${token.at + 1})`);
  }

  /** FILTER, with "or" binding loosest, then "and", then "not" (RFC 7644 §3.4.2.2, Table 4). */
  parseFilter(within?: ParentAttribute): Filter {
    const filters = [this.parseAnd(within)];
    while (this.isKeyword("or")) {
      this.next();
      filters.push(this.parseAnd(within));
    }
    return filters.length === 1 ? filters[0]! : { op: "or", filters };
  }

  private parseAnd(within?: ParentAttribute): Filter {
    const filters = [this.parseUnary(within)];
    while (this.isKeyword("and")) {
      this.next();
      filters.push(this.parseUnary(within));
    }
    return filters.length === 1 ? filters[0]! : { op: "and", filters };
  }

  private parseUnary(within?: ParentAttribute): Filter {
    this.depth += 1;
    if (this.depth > MAX_FILTER_DEPTH) throw filterError(`nests more than ${MAX_FILTER_DEPTH} levels deep`);
    try {
      const token = this.peek();
      // "not" is a keyword only before "(": an attribute may not be called "not", but RFC 7644
      // writes `not (…)`, and accepting `not x eq y` too costs nothing and helps hand-typed filters.
      if (this.isKeyword("not")) {
        this.next();
        return { op: "not", filter: this.parseUnary(within) };
      }
      if (token.kind === "(") {
        this.next();
        const inner = this.parseFilter(within);
        this.expect(")");
        return inner;
      }
      if (token.kind === "word") return this.parseAttributeExpression(within);
      throw filterError(`has ${describeToken(token)} where an attribute, "not" or "(" should be (position ${token.at + 1})`);
    } finally {
      this.depth -= 1;
    }
  }

  private parseAttributeExpression(within?: ParentAttribute): Filter {
    const nameToken = this.next() as Extract<Token, { kind: "word" }>;
    if (!within && this.peek().kind === "[") return this.parseValuePath(nameToken);
    const resolved = this.resolve(nameToken, within);
    return this.parseOperator(resolved, nameToken);
  }

  /** `emails[type eq "work"]`, and Entra's `emails[type eq "work"].value eq "…"` (see parseValuePath). */
  private parseValuePath(nameToken: Extract<Token, { kind: "word" }>): Filter {
    const parent = this.resolveMultiValuedComplex(nameToken);
    this.next(); // "["
    const inner = this.parseFilter(parent);
    this.expect("]");
    if (this.peek().kind !== ".") return { op: "valuePath", attribute: parent.ref, filter: inner };
    // Microsoft Entra queries `emails[type eq "work"].value eq "user@contoso.com"`
    // (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups,
    // "/Users"). It is not in RFC 7644's grammar; it means one element with both properties, so
    // it becomes one value path with both conditions, never two independent ones.
    this.next();
    const subToken = this.next();
    if (subToken.kind !== "word") throw filterError(`has ${describeToken(subToken)} after "]." where a sub-attribute should be`);
    const comparison = this.parseOperator(this.resolve(subToken, parent), subToken);
    return { op: "valuePath", attribute: parent.ref, filter: { op: "and", filters: [inner, comparison] } };
  }

  private parseOperator(resolved: ResolvedTarget, nameToken: Extract<Token, { kind: "word" }>): Filter {
    const opToken = this.next();
    const op = opToken.kind === "word" ? opToken.text.toLowerCase() : "";
    this.terms += 1;
    if (this.terms > MAX_FILTER_TERMS) throw filterError(`has more than ${MAX_FILTER_TERMS} comparisons`);
    if (op === "pr") return { op: "pr", attribute: resolved.ref };
    if (!(COMPARE_OPERATORS as readonly string[]).includes(op)) {
      throw filterError(
        `has ${describeToken(opToken)} after "${nameToken.text}" where an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) should be`,
      );
    }
    const operator = op as CompareOperator;
    const compared = comparedDefinition(resolved, nameToken.text);
    const value = this.parseValue(compared, operator, nameToken.text);
    return { op: operator, attribute: compared.ref, type: compared.definition.type, caseExact: compared.definition.caseExact, value };
  }

  private parseValue(compared: ResolvedTarget, op: CompareOperator, name: string): FilterValue {
    const token = this.next();
    const { type } = compared.definition;
    let value: FilterValue;
    if (token.kind === "string") value = token.value;
    else if (token.kind === "number") value = token.value;
    else if (token.kind === "word" && ["true", "false", "null"].includes(token.text.toLowerCase())) {
      value = token.text.toLowerCase() === "null" ? null : token.text.toLowerCase() === "true";
    } else if (token.kind === "word" && (type === "string" || type === "reference")) {
      // Microsoft Entra's documentation shows an unquoted value, `externalId eq jyoung`
      // (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups,
      // "Example 1"); for a string attribute there is only one thing it can mean.
      value = token.text;
    } else {
      throw filterError(`has ${describeToken(token)} after "${name} ${op}" where a value should be`);
    }
    return checkValue(value, compared, op, name);
  }

  private resolve(token: Extract<Token, { kind: "word" }>, within?: ParentAttribute): ResolvedTarget {
    if (within) {
      const sub = within.definition.subAttributes?.find((candidate) => candidate.name.toLowerCase() === token.text.toLowerCase());
      if (!sub) throw filterError(`names "${token.text}", which is not a sub-attribute of ${within.ref.attribute}`);
      return { ref: { ...within.ref, subAttribute: sub.name }, definition: sub, parent: within.definition };
    }
    const resolved = resolveAttribute(this.resourceType, token.text);
    if (!resolved) throw filterError(`names "${token.text}", which is not an attribute of ${this.resourceType} resources`);
    return { ref: resolved.ref, definition: resolved.sub ?? resolved.definition, parent: resolved.sub ? resolved.definition : undefined };
  }

  private resolveMultiValuedComplex(token: Extract<Token, { kind: "word" }>): ParentAttribute {
    const resolved = resolveAttribute(this.resourceType, token.text);
    if (!resolved) throw filterError(`names "${token.text}", which is not an attribute of ${this.resourceType} resources`);
    if (resolved.sub || resolved.definition.type !== "complex" || !resolved.definition.multiValued) {
      throw filterError(`uses "${token.text}[…]", but only multi-valued complex attributes take a value filter`);
    }
    return { ref: resolved.ref, definition: resolved.definition };
  }

  private isKeyword(word: string): boolean {
    const token = this.peek();
    return token.kind === "word" && token.text.toLowerCase() === word;
  }

  expect(kind: ")" | "]"): void {
    const token = this.next();
    if (token.kind !== kind) throw filterError(`has ${describeToken(token)} where "${kind}" should be (position ${token.at + 1})`);
  }
}

export interface ParentAttribute {
  ref: AttributeRef;
  definition: AttributeDefinition;
}

interface ResolvedTarget {
  ref: AttributeRef;
  definition: AttributeDefinition;
  parent?: AttributeDefinition;
}

/**
 * A comparison with a complex attribute compares its "value" sub-attribute: RFC 7644's own
 * example `emails co "example.com"` means the addresses, not the objects.
 */
function comparedDefinition(resolved: ResolvedTarget, name: string): ResolvedTarget {
  if (resolved.definition.type !== "complex") return resolved;
  const value = resolved.definition.subAttributes?.find((sub) => sub.name === "value");
  if (!value || resolved.ref.subAttribute) throw filterError(`compares "${name}", which is complex: name one of its sub-attributes`);
  return { ref: { ...resolved.ref, subAttribute: "value" }, definition: value, parent: resolved.definition };
}

/** RFC 7644 §3.4.2.2: which operators each type takes, and values of the right type. */
function checkValue(value: FilterValue, compared: ResolvedTarget, op: CompareOperator, name: string): FilterValue {
  const { type } = compared.definition;
  if (value === null) {
    if (op !== "eq" && op !== "ne") throw filterError(`compares "${name}" with null using "${op}": only eq and ne take null (or use pr)`);
    return null;
  }
  if (type === "boolean") {
    if (op !== "eq" && op !== "ne") throw filterError(`uses "${op}" on the boolean "${name}": booleans take eq and ne only`);
    // Entra sends booleans as the strings "True"/"False" in PATCH bodies; a filter written the same way means the same.
    if (typeof value === "string" && /^(true|false)$/i.test(value)) return value.toLowerCase() === "true";
    if (typeof value !== "boolean") throw filterError(`compares the boolean "${name}" with a value that is not true or false`);
    return value;
  }
  if (type === "integer" || type === "decimal") {
    if (SUBSTRING.has(op)) throw filterError(`uses "${op}" on the number "${name}"`);
    if (typeof value !== "number") throw filterError(`compares the number "${name}" with a value that is not a number`);
    return value;
  }
  if (typeof value !== "string") throw filterError(`compares "${name}" with ${JSON.stringify(value)}, which is not a string`);
  if (type === "dateTime") {
    if (SUBSTRING.has(op)) throw filterError(`uses "${op}" on the date "${name}": dates take eq, ne, gt, ge, lt and le`);
    if (Number.isNaN(Date.parse(value)))
      throw filterError(`compares the date "${name}" with "${value}", which is not an xsd:dateTime such as "2011-05-13T04:42:34Z"`);
  }
  if (ORDERING.has(op) && type === "reference") throw filterError(`uses "${op}" on the reference "${name}"`);
  return value;
}
