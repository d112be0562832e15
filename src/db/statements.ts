// The one way to write several rows together: `runStatements` sends a list of writes (drizzle
// builders, `sql` fragments, or Statements already prepared) as one D1 batch: one round trip, one
// transaction, in order. Query functions that write as part of a larger change
// return a Statement instead of running it, so the caller decides what goes in one transaction.
// Why not drizzle's `db.batch`: it cannot carry `db.run(sql)` with parameters (its SQLiteRaw has
// no prepared statement), and the sync's set-based writes are raw SQL. Why not hand-written `?1`
// strings: the parameters would lose drizzle's binding and the schema's column names.
import { SQL, is } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { Db } from "./client.ts";

const dialect = new SQLiteSyncDialect();

export type Statement = D1PreparedStatement;

/** A raw SQL fragment or a drizzle query builder as a D1 statement. */
export function statement(db: Db, query: SQL | { toSQL(): { sql: string; params: unknown[] } }): Statement {
  const built = "toSQL" in query ? query.toSQL() : dialect.sqlToQuery(query);
  return db.$client.prepare(built.sql).bind(...built.params);
}

/** A write for runStatements: a drizzle builder, a `sql` fragment, or a prepared Statement. */
export type Write = Statement | SQL | { toSQL(): { sql: string; params: unknown[] } };

export function runStatements(db: Db, writes: readonly Write[]): Promise<D1Result[]> {
  const statements = writes.map((write) => ("toSQL" in write || is(write, SQL) ? statement(db, write) : write));
  return statements.length === 0 ? Promise.resolve([]) : db.$client.batch(statements);
}

/** Several reads in one round trip (one D1 batch); the results come back in order. */
export function readStatements(db: Db, statements: readonly Statement[]): Promise<D1Result[]> {
  return db.$client.batch([...statements]);
}
