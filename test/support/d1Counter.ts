// Counts D1 round trips of a request, D1 sessions included (the app reads through the Sessions
// API). A round trip is one call that goes to D1: a statement's run/all/first/raw, or a batch,
// however many statements it carries — the same rule as src/lib/d1Stats.ts.
export interface D1Counter {
  roundTrips: number;
  statements: number;
  rowsRead: number;
  rowsWritten: number;
  /** The SQL of each round trip, for a failing assertion's message. */
  log: string[];
  /** Where each D1 session made from the binding starts ("first-primary", a bookmark, ...), in order. */
  sessions: string[];
}

export const emptyD1Counter = (): D1Counter => ({ roundTrips: 0, statements: 0, rowsRead: 0, rowsWritten: 0, log: [], sessions: [] });

type Meta = { meta?: { rows_read?: number; rows_written?: number } } | null | undefined;

function add(counter: D1Counter, results: Meta[], sql: string[]) {
  counter.roundTrips++;
  counter.log.push(sql.map((s) => s.slice(0, 60)).join(" | "));
  for (const result of results) {
    counter.statements++;
    counter.rowsRead += result?.meta?.rows_read ?? 0;
    counter.rowsWritten += result?.meta?.rows_written ?? 0;
  }
}

class CountedStatement {
  constructor(
    readonly real: D1PreparedStatement,
    readonly sql: string,
    private readonly counter: D1Counter,
  ) {}
  bind(...values: unknown[]) {
    return new CountedStatement(this.real.bind(...values), this.sql, this.counter);
  }
  async first<T>(column?: string): Promise<T | null> {
    const result = await this.real.all<Record<string, unknown>>();
    add(this.counter, [result], [this.sql]);
    const row = result.results[0];
    if (!row) return null;
    return (column === undefined ? row : row[column]) as T;
  }
  async run<T>() {
    const result = await this.real.run<T>();
    add(this.counter, [result], [this.sql]);
    return result;
  }
  async all<T>() {
    const result = await this.real.all<T>();
    add(this.counter, [result], [this.sql]);
    return result;
  }
  async raw<T extends unknown[]>(options?: { columnNames?: boolean }): Promise<T[]> {
    const result = await this.real.all<Record<string, unknown>>();
    add(this.counter, [result], [this.sql]);
    const rows = result.results.map((row) => Object.values(row) as T);
    return options?.columnNames ? [Object.keys(result.results[0] ?? {}) as unknown as T, ...rows] : rows;
  }
}

function counted(
  target: { prepare(query: string): D1PreparedStatement; batch<T>(s: D1PreparedStatement[]): Promise<D1Result<T>[]> },
  counter: D1Counter,
) {
  return {
    prepare: (query: string) => new CountedStatement(target.prepare(query), query, counter),
    async batch<T>(statements: CountedStatement[]) {
      const results = await target.batch<T>(statements.map((s) => s.real));
      add(
        counter,
        results,
        statements.map((s) => s.sql),
      );
      return results;
    },
  };
}

/** Wraps a D1 binding so that it, and every session made from it, counts into `counter`. */
export function countingD1(d1: D1Database, counter: D1Counter): D1Database {
  return {
    ...counted(d1, counter),
    exec: (query: string) => d1.exec(query),
    dump: () => d1.dump(),
    withSession(constraint?: string) {
      counter.sessions.push(constraint ?? "first-unconstrained");
      const session = d1.withSession(constraint);
      return { ...counted(session, counter), getBookmark: () => session.getBookmark() };
    },
  } as unknown as D1Database;
}
