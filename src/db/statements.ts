// The one way to write several rows together: each write is a `Statement` (a drizzle builder or
// a `sql` fragment, prepared for D1), and `runStatements` sends a list of them as one D1 batch:
// one round trip, one transaction, in order. Query functions that write as part of a larger change
// return a Statement instead of running it, so the caller decides what goes in one transaction.
// Why not drizzle's `db.batch`: it cannot carry `db.run(sql)` with parameters (its SQLiteRaw has
// no prepared statement), and the sync's set-based writes are raw SQL. Why not hand-written `?1`
// strings: the parameters would lose drizzle's binding and the schema's column names.
import type { SQL } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { Db } from "./client.ts";

const dialect = new SQLiteSyncDialect();

export type Statement = D1PreparedStatement;

/** A raw SQL fragment or a drizzle query builder as a D1 statement. */
export function statement(db: Db, query: SQL | { toSQL(): { sql: string; params: unknown[] } }): Statement {
  const built = "toSQL" in query ? query.toSQL() : dialect.sqlToQuery(query);
  return db.$client.prepare(built.sql).bind(...built.params);
}

export function runStatements(db: Db, statements: readonly Statement[]): Promise<D1Result[]> {
  return statements.length === 0 ? Promise.resolve([]) : db.$client.batch([...statements]);
}
