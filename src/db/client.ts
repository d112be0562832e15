import { drizzle } from "drizzle-orm/d1";

/**
 * A drizzle handle on D1, or on a D1 session (read replication: src/app.tsx says which requests
 * may read from a replica). A session has the two methods drizzle uses, prepare and batch.
 *
 * Without `schema`: every query names its tables from ./schema.ts, and nothing uses drizzle's
 * relational API (`db.query.…`), which is all the schema option is for. Given it, drizzle walks
 * every export of the schema to build that API each time a handle is made, once per request and per
 * Workflow step: about a tenth of the CPU of a page or a sync step, for nothing.
 */
export function createDb(d1: D1Database | D1DatabaseSession) {
  return drizzle(d1 as D1Database);
}

export type Db = ReturnType<typeof createDb>;

/**
 * Whether a failed write broke a UNIQUE constraint of `table` (a race another request won). D1
 * reports it only in the message, on the error or its cause: "UNIQUE constraint failed: table.column".
 */
export function isUniqueViolation(error: unknown, table: string): boolean {
  const text = `${String(error)} ${String((error as { cause?: unknown })?.cause ?? "")}`;
  return text.includes(`UNIQUE constraint failed: ${table}.`);
}
