// Counts what the sync costs in D1: statements sent, rows read and rows written, from each
// result's `meta`. Every run records these (the benchmark reads them from the Workflow's output),
// so a change that starts rewriting unchanged rows shows up in the numbers, not in a bill.

export interface D1Stats {
  /** Calls that went to D1: a batch is one, however many statements it carries. */
  roundTrips: number;
  statements: number;
  rowsRead: number;
  rowsWritten: number;
}

export const emptyD1Stats = (): D1Stats => ({ roundTrips: 0, statements: 0, rowsRead: 0, rowsWritten: 0 });

export function addD1Stats(total: D1Stats, more: D1Stats): D1Stats {
  return {
    roundTrips: total.roundTrips + more.roundTrips,
    statements: total.statements + more.statements,
    rowsRead: total.rowsRead + more.rowsRead,
    rowsWritten: total.rowsWritten + more.rowsWritten,
  };
}

function count(stats: D1Stats, result: { meta?: { rows_read?: number; rows_written?: number } } | null | undefined, roundTrip = true) {
  if (roundTrip) stats.roundTrips++;
  stats.statements++;
  stats.rowsRead += result?.meta?.rows_read ?? 0;
  stats.rowsWritten += result?.meta?.rows_written ?? 0;
}

/** A prepared statement that counts; keeps the real one for `batch`. */
class CountedStatement {
  constructor(
    readonly real: D1PreparedStatement,
    private readonly stats: D1Stats,
  ) {}

  bind(...values: unknown[]): CountedStatement {
    return new CountedStatement(this.real.bind(...values), this.stats);
  }

  async first<T>(column?: string): Promise<T | null> {
    const result = await this.real.all<Record<string, unknown>>();
    count(this.stats, result);
    const row = result.results[0];
    if (!row) return null;
    return (column === undefined ? row : row[column]) as T;
  }

  async run<T>(): Promise<D1Result<T>> {
    const result = await this.real.run<T>();
    count(this.stats, result);
    return result;
  }

  async all<T>(): Promise<D1Result<T>> {
    const result = await this.real.all<T>();
    count(this.stats, result);
    return result;
  }

  /**
   * `raw()` carries no meta, so it is answered from `all()`: the engine's queries name every
   * column once, which keeps the object → array mapping exact.
   */
  async raw<T extends unknown[]>(options?: { columnNames?: boolean }): Promise<T[]> {
    const result = await this.real.all<Record<string, unknown>>();
    count(this.stats, result);
    const rows = result.results.map((row) => Object.values(row) as T);
    if (options?.columnNames) {
      const names = Object.keys(result.results[0] ?? {});
      return [names as unknown as T, ...rows];
    }
    return rows;
  }
}

/** prepare and batch, counted: what a D1 binding and a D1 session have in common. */
function countedQueries(d1: D1Database | D1DatabaseSession, stats: D1Stats) {
  return {
    prepare: (query: string) => new CountedStatement(d1.prepare(query), stats),
    async batch<T>(statements: CountedStatement[]): Promise<D1Result<T>[]> {
      const results = await d1.batch<T>(statements.map((s) => (s instanceof CountedStatement ? s.real : s)));
      stats.roundTrips++;
      for (const result of results) count(stats, result, false);
      return results;
    },
  };
}

/**
 * Wraps a D1 binding so every statement's meta is added to `stats`, including those of the
 * sessions it opens (the pages read through D1's Sessions API: src/app.tsx).
 */
export function countingD1(d1: D1Database, stats: D1Stats): D1Database {
  const wrapper = {
    ...countedQueries(d1, stats),
    exec: (query: string) => d1.exec(query),
    withSession: (constraint?: D1SessionConstraint | D1SessionBookmark) => {
      const session = d1.withSession(constraint);
      return { ...countedQueries(session, stats), getBookmark: () => session.getBookmark() };
    },
    dump: () => d1.dump(),
  };
  return wrapper as unknown as D1Database;
}
