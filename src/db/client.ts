import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema.ts";

export function createDb(d1: D1Database) {
  return drizzle(d1, { schema });
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
