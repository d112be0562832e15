// An apply's people waiting to be written are read by a partial index (migrations/0033), so a write
// step reads about as many scratch rows as it takes, however many other scratch rows the import holds
// (with Group → Role mapping on or a group scope, one per member of those groups: up to 1,000,000).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createDb } from "../src/db/client.ts";
import { listPendingPeople, markGroupMembers, savePendingPeople } from "../src/db/directoryImports.ts";
import type { ImportedPerson } from "../src/db/importedMembers.ts";
import { runStatements } from "../src/db/statements.ts";
import { countingD1, emptyD1Stats } from "../src/lib/d1Stats.ts";

const MARKED = 20_000;
const PENDING = 30;

const oidOf = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
const personOf = (oid: string) =>
  ({ oid, email: `${oid.slice(-6)}@contoso.example`, name: `Person ${oid.slice(-6)}` }) as unknown as ImportedPerson;

/** A D1 binding that keeps the text of each statement it prepares (to ask SQLite how it runs it). */
function recordingD1(d1: D1Database, queries: string[]): D1Database {
  return new Proxy(d1, {
    get(target, key) {
      if (key === "prepare") {
        return (query: string) => {
          queries.push(query);
          return target.prepare(query);
        };
      }
      const value = Reflect.get(target, key) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("listPendingPeople", () => {
  it("reads about as many rows as people wait, not the import's other scratch rows", async () => {
    const importId = crypto.randomUUID();
    const otherImport = crypto.randomUUID();
    const db = createDb(env.DB);
    // Members of mapped groups: scratch rows without a person, spread across the oid range.
    const marked = Array.from({ length: MARKED }, (_, i) => oidOf(i * 7));
    for (let i = 0; i < marked.length; i += 5_000) {
      await runStatements(db, [
        markGroupMembers(db, importId, marked.slice(i, i + 5_000), { mapped: "11111111-1111-4111-8111-111111111111" }),
      ]);
    }
    // The people a page decided, among them (their rows take the person) and after them.
    const pending = Array.from({ length: PENDING }, (_, i) => oidOf(i % 2 === 0 ? i * 7 * 600 : MARKED * 7 + i));
    await runStatements(db, [savePendingPeople(db, importId, pending.map(personOf))]);
    await runStatements(db, [savePendingPeople(db, otherImport, [personOf(oidOf(1))])]);

    const stats = emptyD1Stats();
    const queries: string[] = [];
    const listed = await listPendingPeople(createDb(countingD1(recordingD1(env.DB, queries), stats)), importId, 1_000);

    expect(listed.map((person) => person.oid)).toEqual([...pending].sort());
    expect(stats.statements).toBe(1);
    expect(stats.rowsRead).toBeLessThanOrEqual(PENDING + 2);

    // A step that takes fewer than wait reads about as many as it takes.
    const fewer = emptyD1Stats();
    expect(await listPendingPeople(createDb(countingD1(env.DB, fewer)), importId, 10)).toHaveLength(10);
    expect(fewer.rowsRead).toBeLessThanOrEqual(10 + 2);

    // SQLite searches the partial index, and needs no sort for the object id order.
    const [query] = queries;
    if (!query) throw new Error("listPendingPeople prepared no statement");
    const plan = await env.DB.prepare(`explain query plan ${query}`).bind(importId, 1_000).all<{ detail: string }>();
    const details = plan.results.map((row) => row.detail);
    expect(details.join(" | ")).toMatch(
      /SEARCH directory_import_people USING (COVERING )?INDEX directory_import_people_pending \(import_id=\?\)/,
    );
    expect(details.join(" | ")).not.toMatch(/TEMP B-TREE/);
  });
});
