// docs/events.md's schemas are the event catalogue's (src/events/catalogue.ts): the committed doc
// must be what `node scripts/eventsDoc.ts` writes, so a payload cannot change without its doc.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { EVENTS_DOC, withSchemas } from "../../scripts/eventsDoc.ts";

it("docs/events.md shows the catalogue's schemas (run `node scripts/eventsDoc.ts` after changing it)", () => {
  const doc = readFileSync(EVENTS_DOC, "utf8");
  expect(doc).toBe(withSchemas(doc));
});
