// docs/events.md's "Schemas" section, generated from the event catalogue (src/eventCatalogue.ts):
// the JSON Schema (draft 2020-12) of each event's `data`, by zod's own z.toJSONSchema, so the doc
// says exactly what the catalogue checks. `node scripts/eventsDoc.ts` rewrites the section;
// test/node/eventCatalogue.test.ts fails `npm test` while the committed doc differs from it.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { EVENT_TYPES, EVENTS, MEMBER } from "../src/eventCatalogue.ts";

export const EVENTS_DOC = fileURLToPath(new URL("../docs/events.md", import.meta.url));

const BEGIN = "<!-- Generated from src/eventCatalogue.ts by `node scripts/eventsDoc.ts`: edit the catalogue, not this section. -->";
const END = "<!-- End of the generated section. -->";

/** JSON on one line, spaced for reading: `{ "type": "string" }`. */
function flat(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(flat).join(", ")}]`;
  return `{ ${Object.entries(value)
    .map(([key, item]) => `${JSON.stringify(key)}: ${flat(item)}`)
    .join(", ")} }`;
}

/** A schema's JSON, each object or array on one line when it fits in WIDTH characters, else one member a line. */
const WIDTH = 120;
function format(value: unknown, indent = ""): string {
  const line = flat(value);
  if (typeof value !== "object" || value === null || indent.length + line.length <= WIDTH) return line;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((item) => inner + format(item, inner)).join(",\n")}\n${indent}]`;
  const members = Object.entries(value).map(([key, item]) => `${inner}${JSON.stringify(key)}: ${format(item, inner)}`);
  return `{\n${members.join(",\n")}\n${indent}}`;
}

/** Every event's `data` schema and the Member they share, keyed by id; `Member` is referenced as "#Member". */
function jsonSchemas(): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string }>();
  registry.add(MEMBER, { id: "Member" });
  for (const type of EVENT_TYPES) registry.add(EVENTS[type].data, { id: type });
  const { schemas } = z.toJSONSchema(registry, {
    uri: (id) => `#${id}`,
    override: ({ jsonSchema }) => {
      // z.int()'s bounds say "a safe integer": noise to a reader of the doc.
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    },
  });
  // The dialect and ids are said once, in the section's first sentence and headings.
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _, $id: __, ...schema }]) => [id, schema]));
}

const block = (schema: unknown) => ["```json", format(schema), "```"].join("\n");

/** The generated section, markers included. */
export function schemasSection(): string {
  const schemas = jsonSchemas();
  const lines = [
    BEGIN,
    "",
    'The JSON Schema (draft 2020-12) of each event\'s `data`; `{ "$ref": "#Member" }` is this `Member`:',
    "",
    block(schemas.Member),
  ];
  for (const type of EVENT_TYPES) lines.push("", `### \`${type}\``, "", EVENTS[type].about, "", block(schemas[type]));
  lines.push("", END);
  return lines.join("\n");
}

/** `doc` with its generated section replaced by the catalogue's. */
export function withSchemas(doc: string): string {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${EVENTS_DOC} has no generated section (${BEGIN} … ${END})`);
  return doc.slice(0, begin) + schemasSection() + doc.slice(end + END.length);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const doc = readFileSync(EVENTS_DOC, "utf8");
  const updated = withSchemas(doc);
  if (updated !== doc) writeFileSync(EVENTS_DOC, updated);
  console.log(updated === doc ? "docs/events.md is up to date" : "docs/events.md: Schemas rewritten from src/eventCatalogue.ts");
}
