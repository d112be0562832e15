// The directory's state at a glance: the connection, the held run (if any) and how the last run
// ended. The alerts banner on every Owner/Admin page and the home page read it, in one statement.
import { eq, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { entraConnections, type PendingChanges, type RealtimeFailure, type SyncFailure } from "./schema.ts";
import type { SyncRunRow, SyncTrigger } from "./syncRuns.ts";

/** The held run the banner names, newest first when (rarely) more than one is held. */
interface HeldRun {
  id: string;
  startedAt: number;
  pendingChanges: PendingChanges | null;
}

/** How the last nightly or "Sync now" run ended. */
interface LastRun {
  id: string;
  trigger: SyncTrigger;
  status: SyncRunRow["status"];
  startedAt: number;
  finishedAt: number | null;
  error: SyncFailure | null;
  deactivated: number;
  reactivated: number;
}

/** Real-time updates' subscription, when the organization holds (or failed to get) one. */
interface Realtime {
  status: "active" | "failed";
  expiresAt: number | null;
  failure: RealtimeFailure | null;
}

/**
 * One statement, four index searches (EXPLAIN QUERY PLAN, checked in test/directoryAlerts.test.ts):
 * the connection by its primary key, the newest held run along `sync_runs_held`, and the newest
 * concluded nightly or "Sync now" run along `sync_runs_concluded` (migrations/0012: partial
 * indexes, so neither walks the run history), and real-time updates' subscription by its primary key. The subqueries' `status = 'held'` and
 * `trigger <> 'preview' and status not in (...)` must stay literally the indexes' WHERE clauses,
 * or SQLite will not use them. Each run comes back as one JSON column, so no column name is
 * shared between the connection and its runs. The subqueries name `entra_connections.organization_id`
 * in full: drizzle writes a lone table's columns unqualified, which inside them would mean the run's
 * own column (every organization's runs).
 */
export async function findDirectoryState(db: Db, organizationId: string) {
  const [row] = await directoryStateQuery(db, organizationId);
  return row ?? null;
}

const parsed = <T>(value: unknown): T | null => (typeof value === "string" ? (JSON.parse(value) as T) : null);

export function directoryStateQuery(db: Db, organizationId: string) {
  return db
    .select({
      status: entraConnections.status,
      tenantName: entraConnections.tenantName,
      defaultDomain: entraConnections.defaultDomain,
      connectedAt: entraConnections.connectedAt,
      autoDeprovision: entraConnections.autoDeprovision,
      linkedMembers: entraConnections.linkedActiveMembers,
      heldRun: sql`(select json_object('id', id, 'startedAt', started_at, 'pendingChanges', json(pending_changes))
        from sync_runs where organization_id = entra_connections.organization_id and status = 'held'
        order by started_at desc, id desc limit 1)`.mapWith((value) => parsed<HeldRun>(value)),
      lastRun: sql`(select json_object('id', id, 'trigger', trigger, 'status', status, 'startedAt', started_at,
          'finishedAt', finished_at, 'error', error, 'deactivated', deactivated, 'reactivated', reactivated)
        from sync_runs where organization_id = entra_connections.organization_id and trigger <> 'preview' and status not in ('running', 'skipped')
        order by started_at desc, id desc limit 1)`.mapWith((value) => parsed<LastRun>(value)),
      realtime: sql`(select json_object('status', status, 'expiresAt', expires_at, 'failure', failure)
        from directory_subscriptions where organization_id = entra_connections.organization_id)`.mapWith((value) => parsed<Realtime>(value)),
    })
    .from(entraConnections)
    .where(eq(entraConnections.organizationId, organizationId))
    .limit(1);
}

export type DirectoryState = NonNullable<Awaited<ReturnType<typeof findDirectoryState>>>;
