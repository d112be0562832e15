// Batches that mix raw SQL with drizzle builders. drizzle's D1 batch cannot carry `db.run(sql)`
// with parameters (its SQLiteRaw has no prepared statement), so both kinds are turned into D1
// prepared statements here and sent as one D1 batch: one round trip, one transaction.
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
