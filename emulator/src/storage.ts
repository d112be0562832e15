// What the emulator keeps across a restart: the state Microsoft itself would still have tomorrow
// (consents, grants and tokens, users and groups changed through the admin API, synthetic tenants'
// specs, subscriptions, the delta generation, the signing keys), as JSON records in one SQLite
// table of the emulator's Durable Object (index.ts), which wrangler persists under its state
// directory. Memory stays the working copy every request reads; a change is written here at the
// moment it is made, in the same synchronous step, so nothing is lost between two requests.
// Test instruments (faults, tamper, counters, delivery log, dropped or delayed notifications,
// delta disorder) are not kept: a restarted emulator starts without them.
// Without storage attached (a bare isolate), every write is a no-op and the emulator is memory-only.

export type RecordKind =
  | "meta"
  | "code"
  | "accessToken"
  | "refreshToken"
  | "syntheticTenant"
  | "user"
  | "addedUser"
  | "group"
  | "membership"
  | "consent"
  | "consentWorkflow"
  | "consentRequest"
  | "subscription"
  | "verifiedDomains"
  | "signingKey";

let sql: SqlStorage | undefined;

/** Uses `storage` from now on (each new Durable Object instance hands over its own). */
export function attachStorage(storage: SqlStorage): void {
  storage.exec(
    `CREATE TABLE IF NOT EXISTS emulator_records (
       kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, key)
     ) WITHOUT ROWID`,
  );
  sql = storage;
}

export function hasStorage(): boolean {
  return sql !== undefined;
}

export function persist(kind: RecordKind, key: string, value: unknown): void {
  sql?.exec(
    "INSERT INTO emulator_records (kind, key, value) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value",
    kind,
    key,
    JSON.stringify(value),
  );
}

export function unpersist(kind: RecordKind, key: string): void {
  sql?.exec("DELETE FROM emulator_records WHERE kind = ? AND key = ?", kind, key);
}

/** Forgets every record except those of `keep` (a reset keeps the signing keys). */
export function unpersistAll(keep: RecordKind[]): void {
  if (!sql) return;
  const placeholders = keep.map(() => "?").join(", ");
  sql.exec(`DELETE FROM emulator_records${keep.length > 0 ? ` WHERE kind NOT IN (${placeholders})` : ""}`, ...keep);
}

/**
 * Forgets what was kept for a tenant whose id is being used again (a synthetic tenant made anew):
 * its users, added users, groups and consent. Their keys start with the tenant id and a space.
 */
export function unpersistTenant(tenantId: string): void {
  sql?.exec(
    "DELETE FROM emulator_records WHERE kind IN ('user', 'addedUser', 'group', 'membership') AND key >= ? AND key < ?",
    `${tenantId} `,
    `${tenantId}!`,
  );
  sql?.exec("DELETE FROM emulator_records WHERE kind = 'consent' AND key = ?", tenantId);
}

/** Every record of one kind, in key order. */
export function persisted<T>(kind: RecordKind): { key: string; value: T }[] {
  if (!sql) return [];
  return sql
    .exec<{ key: string; value: string }>("SELECT key, value FROM emulator_records WHERE kind = ? ORDER BY key", kind)
    .toArray()
    .map((row) => ({ key: row.key, value: JSON.parse(row.value) as T }));
}

export function persistedValue<T>(kind: RecordKind, key: string): T | undefined {
  if (!sql) return undefined;
  const row = sql.exec<{ value: string }>("SELECT value FROM emulator_records WHERE kind = ? AND key = ?", kind, key).toArray()[0];
  return row ? (JSON.parse(row.value) as T) : undefined;
}
