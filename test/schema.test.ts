// The schema cannot drift. migrations/*.sql are the source of truth: they hold triggers, partial
// indexes, CHECK constraints and table rebuilds that drizzle-kit cannot write, so drizzle-kit does
// not generate them. src/db/schema.ts is drizzle's view of the same tables, written by hand, and
// this test holds it to the database the migrations build (test/setup.ts applies them to D1): the
// same tables; per table the same columns (name, type affinity, NOT NULL, primary key, default,
// and the values of a `CHECK (column IN (...))`), the same UNIQUE constraints, and index by index
// the same indexes (unique or not, key columns and their order, a partial index's WHERE).
// Not compared: foreign keys, other CHECKs, triggers (the migrations alone hold them).
import { env } from "cloudflare:test";
import { is, SQL } from "drizzle-orm";
import { getTableConfig, SQLiteSyncDialect, SQLiteTable, type SQLiteColumn } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as schema from "../src/db/schema.ts";

/** What both sides are reduced to, so one toEqual shows every difference of a table at once. */
interface TableShape {
  columns: Record<string, ColumnShape>;
  primaryKey: string[];
  /** UNIQUE constraints, each as its columns joined by commas. */
  unique: string[];
  indexes: Record<string, IndexShape>;
}
interface ColumnShape {
  affinity: string;
  /** A primary key column is left out: SQLite lets `id TEXT PRIMARY KEY` hold NULL (a legacy quirk), drizzle calls it not null. */
  notNull: boolean | "primary key";
  /** The DEFAULT as SQL. Drizzle sends its own default (or NULL) for an omitted column, so both must agree. */
  default: string | null;
  /** The values of `CHECK (column IN (...))`, sorted; only where the migration has one. */
  values?: string[];
}
interface IndexShape {
  unique: boolean;
  /** Key columns in order, " desc" after a descending one. */
  columns: string[];
  where: string | null;
}

const dialect = new SQLiteSyncDialect();
const drizzleTables = Object.values(schema as Record<string, unknown>).filter((value): value is SQLiteTable => is(value, SQLiteTable));

describe("src/db/schema.ts agrees with the database migrations/*.sql build", () => {
  it("has the same tables", async () => {
    const migrated = await migratedTableNames();
    expect(drizzleTables.map((table) => getTableConfig(table).name).sort(), "schema.ts's tables against the migrated ones").toEqual(
      migrated,
    );
  });

  it.each(drizzleTables.map((table) => [getTableConfig(table).name, table] as const))("%s", async (name, table) => {
    const migrated = await migratedTable(name);
    // In the diff, "- Expected" is what the migrations built and "+ Received" what schema.ts says.
    expect(drizzleTable(table, migrated), `schema.ts against the migrated ${name}`).toEqual(migrated);
  });
});

// ---- The migrated database, read back from D1 ----

async function migratedTableNames(): Promise<string[]> {
  // sqlite_* are SQLite's own, _cf_* are D1's, d1_migrations is the migrations' ledger.
  const { results } = await env.DB.prepare(
    `select name from sqlite_master where type = 'table' and name not glob 'sqlite_*' and name not glob '_cf_*' and name <> 'd1_migrations'`,
  ).all<{ name: string }>();
  return results.map((row) => row.name).sort();
}

async function migratedTable(name: string): Promise<TableShape> {
  const definition = await env.DB.prepare(`select sql from sqlite_master where type = 'table' and name = ?`)
    .bind(name)
    .first<{ sql: string }>();
  if (!definition) return { columns: {}, primaryKey: [], unique: [], indexes: {} };
  const checks = checkedValues(definition.sql);
  const columns = await pragma<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>(
    `table_info(${quoted(name)})`,
  );
  const shape: TableShape = {
    columns: Object.fromEntries(
      columns.map((column) => {
        const values = checks.get(column.name);
        const shape: ColumnShape = {
          affinity: affinity(column.type),
          notNull: column.pk > 0 ? "primary key" : column.notnull === 1,
          default: column.dflt_value === null ? null : normalizeSql(column.dflt_value),
        };
        return [column.name, values ? { ...shape, values } : shape];
      }),
    ),
    primaryKey: columns
      .filter((column) => column.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((column) => column.name),
    unique: [],
    indexes: {},
  };
  for (const index of await pragma<{ name: string; unique: number; origin: string }>(`index_list(${quoted(name)})`)) {
    // origin 'pk': the primary key's own index, compared as primaryKey above.
    if (index.origin === "pk") continue;
    const keys = (await pragma<{ seqno: number; name: string | null; desc: number; key: number }>(`index_xinfo(${quoted(index.name)})`))
      .filter((column) => column.key === 1)
      .sort((a, b) => a.seqno - b.seqno)
      .map((column) => `${column.name ?? "(expression)"}${column.desc ? " desc" : ""}`);
    if (index.origin === "u") {
      shape.unique.push(keys.join(","));
      continue;
    }
    const created = await env.DB.prepare(`select sql from sqlite_master where type = 'index' and name = ?`)
      .bind(index.name)
      .first<{ sql: string }>();
    const where = created?.sql.match(/\bwhere\b([\s\S]*)$/i)?.[1];
    shape.indexes[index.name] = { unique: index.unique === 1, columns: keys, where: where === undefined ? null : normalizeSql(where) };
  }
  shape.unique.sort();
  return shape;
}

async function pragma<Row>(statement: string): Promise<Row[]> {
  return (await env.DB.prepare(`pragma ${statement}`).all<Row>()).results;
}

/** `CHECK (column IN ('a', 'b'))` in a CREATE TABLE, as column → sorted values (string values only). */
function checkedValues(createTable: string): Map<string, string[]> {
  const checks = new Map<string, string[]>();
  for (const [, column, list] of createTable.matchAll(/check\s*\(\s*(\w+)\s+in\s*\(([^)]*)\)\s*\)/gi)) {
    const values = [...list!.matchAll(/'((?:[^']|'')*)'/g)].map(([, value]) => value!.replace(/''/g, "'"));
    if (values.length > 0) checks.set(column!, values.sort());
  }
  return checks;
}

/** SQLite's type affinity rules (https://www.sqlite.org/datatype3.html#determination_of_column_affinity). */
function affinity(declared: string): string {
  const type = declared.toUpperCase();
  if (type.includes("INT")) return "INTEGER";
  if (/CHAR|CLOB|TEXT/.test(type)) return "TEXT";
  if (type === "" || type.includes("BLOB")) return "BLOB";
  if (/REAL|FLOA|DOUB/.test(type)) return "REAL";
  return "NUMERIC";
}

// ---- schema.ts, through drizzle's own table config ----

/** `migrated` only decides which columns carry `values`: those the migration CHECKs. */
function drizzleTable(table: SQLiteTable, migrated: TableShape): TableShape {
  const config = getTableConfig(table);
  const composite = config.primaryKeys[0]?.columns.map((column) => column.name) ?? [];
  const primaryKey = composite.length > 0 ? composite : config.columns.filter((column) => column.primary).map((column) => column.name);
  const columns = Object.fromEntries(
    config.columns.map((column) => {
      const shape: ColumnShape = {
        affinity: affinity(column.getSQLType()),
        notNull: primaryKey.includes(column.name) ? "primary key" : column.notNull,
        default: drizzleDefault(column),
      };
      const checked = migrated.columns[column.name]?.values !== undefined;
      return [column.name, checked ? { ...shape, values: column.enumValues ? [...column.enumValues].sort() : undefined } : shape];
    }),
  );
  const unique = [
    ...config.columns.filter((column) => column.isUnique).map((column) => column.name),
    ...config.uniqueConstraints.map((constraint) => constraint.columns.map((column) => column.name).join(",")),
  ].sort();
  const indexes = Object.fromEntries(
    config.indexes.map(({ config: index }) => [
      index.name,
      {
        unique: index.unique,
        columns: index.columns.map((column) => (is(column, SQL) ? normalizeSql(dialect.sqlToQuery(column, "indexes").sql) : column.name)),
        where: index.where ? normalizeSql(dialect.sqlToQuery(index.where.inlineParams(), "indexes").sql) : null,
      },
    ]),
  );
  return { columns, primaryKey, unique, indexes };
}

/** The column's DEFAULT as SQL would spell it; null without one (a $defaultFn is the app's, not the database's). */
function drizzleDefault(column: SQLiteColumn): string | null {
  if (column.default === undefined || column.default === null) return null;
  if (is(column.default, SQL)) return normalizeSql(dialect.sqlToQuery(column.default.inlineParams()).sql);
  const value: unknown = column.mapToDriverValue(column.default);
  if (typeof value === "string") return `'${value.replace(/'/g, "''")}'`;
  return String(value);
}

/** SQL text in one spelling: lower case, no quoted names, single spaces, no parentheses around the whole. */
function normalizeSql(text: string): string {
  let sql = text.replace(/[;"`]/g, "").replace(/\s+/g, " ").trim().toLowerCase().replace(/\( /g, "(").replace(/ \)/g, ")");
  while (sql.startsWith("(") && closingParen(sql) === sql.length - 1) sql = sql.slice(1, -1).trim();
  return sql;
}

function closingParen(sql: string): number {
  let depth = 0;
  for (let i = 0; i < sql.length; i++) {
    if (sql[i] === "(") depth++;
    if (sql[i] === ")" && --depth === 0) return i;
  }
  return -1;
}

function quoted(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
