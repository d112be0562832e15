// The event catalogue (src/eventCatalogue.ts) outside workerd: docs/events.md's schemas are the
// catalogue's (the committed doc must be what `node scripts/eventsDoc.ts` writes, so a payload
// cannot change without its doc), and payloads keep their public words whichever internal spelling
// the database uses.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { eventPayload, publicDeactivationCause, publicTrigger } from "../../src/eventCatalogue.ts";
import { EVENTS_DOC, withSchemas } from "../../scripts/eventsDoc.ts";

it("docs/events.md shows the catalogue's schemas (run `node scripts/eventsDoc.ts` after changing it)", () => {
  const doc = readFileSync(EVENTS_DOC, "utf8");
  expect(doc).toBe(withSchemas(doc));
});

describe("public words", () => {
  it("name what started a run as payloads always have, from either internal spelling", () => {
    expect([publicTrigger("manual"), publicTrigger("sync_now")]).toEqual(["manual", "manual"]);
    expect([publicTrigger("notification"), publicTrigger("realtime")]).toEqual(["notification", "notification"]);
    expect([publicTrigger("schedule"), publicTrigger("preview")]).toEqual(["schedule", "preview"]);
  });

  it("say by_hand for a deactivation by hand, however it is stored", () => {
    expect([publicDeactivationCause("manual"), publicDeactivationCause("by_hand"), publicDeactivationCause("directory_sync")]).toEqual([
      "by_hand",
      "by_hand",
      "directory_sync",
    ]);
  });
});

it("refuses to build a payload the catalogue does not allow", () => {
  const now = Date.UTC(2026, 10, 30, 2, 31, 7, 412);
  expect(eventPayload("webhook.test", { organization_id: "o", endpoint_id: "e" }, now)).toBe(
    '{"type":"webhook.test","timestamp":"2026-11-30T02:31:07.412Z","data":{"organization_id":"o","endpoint_id":"e"}}',
  );
  expect(() => eventPayload("webhook.test", { organization_id: "o", endpoint_id: "e", extra: 1 } as never, now)).toThrow();
});
