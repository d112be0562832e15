// The directory's state at a glance: the connection, the held run (if any) and how the last run
// ended. The alerts banner on every Owner/Admin page and the home page read it, in one statement.
// The same statement also reads the webhook endpoints that deliveries disabled: the banner names
// them to the same viewers, and a second read per page would cost every Owner and Admin a round trip.
import { eq, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { runsExistFor } from "./runEligibility.ts";
import { entraConnections, organizations, type PendingChanges, type RealtimeFailure, type SyncFailure } from "./schema.ts";
import type { SyncRunRow, SyncTrigger } from "./syncRuns.ts";

/** The held run the banner names, newest first when (rarely) more than one is held. */
interface HeldRun {
  id: string;
  startedAt: number;
  pendingChanges: PendingChanges | null;
}

/**
 * How the last run that could change members ended: nightly, "Sync now" or a real-time update.
 * Real-time reads count on purpose: each applies the nightly rules to the same delta, so one that
 * succeeds after a failed night has read what that night missed (the failure is over), and one
 * that fails is a failure the customer should see. Previews and skipped runs (another run was
 * going, or a held run waits) changed nothing and say nothing about it.
 */
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

/** An event-webhook endpoint the deliveries disabled (every attempt failed for a day); never its secrets. */
export interface FailingEndpoint {
  id: string;
  url: string;
}

/**
 * One statement, six index searches (EXPLAIN QUERY PLAN, checked in test/directoryAlerts.test.ts):
 * the organization by its primary key, its connection by its primary key (a left join: an
 * organization that never connected Entra ID still gets its row, for the webhook endpoints), the
 * newest held run along `sync_runs_held`, and the newest concluded run (nightly, "Sync now" or real-time) along
 * `sync_runs_concluded` (migrations/0012: partial indexes, so neither walks the run history),
 * real-time updates' subscription by its primary key, and the disabled endpoints along
 * `webhook_endpoints_org` (organization_id, enabled = 0: at most the organization's 10 endpoints,
 * and never their attempts or events). The subqueries' `status = 'held'` and
 * `trigger <> 'preview' and status not in (...)` must stay literally the indexes' WHERE clauses,
 * or SQLite will not use them. Each run comes back as one JSON column, so no column name is
 * shared between the connection and its runs. The subqueries name the outer table's column in full
 * (`entra_connections.organization_id`, `organizations.id`): unqualified, `organization_id` inside
 * them would mean the run's or endpoint's own column (every organization's rows). The runs and the
 * subscription follow the connection's key, so without a connection they read nothing.
 */
export async function findAlertsState(db: Db, organizationId: string): Promise<AlertsState> {
  const [row] = await alertsStateQuery(db, organizationId);
  if (!row) return { directory: null, failingEndpoints: [], scimHeld: null };
  const { connection, failingEndpoints, scimHeld, ...runs } = row;
  // No connection row: Entra ID is not connected (never, or disconnected), as the glance says.
  return { directory: connection && { ...connection, ...runs }, failingEndpoints, scimHeld };
}

/** SCIM deactivations held for Apply: how many, and since when. */
export interface ScimHeld {
  count: number;
  since: number;
}

const parsed = <T>(value: unknown): T | null => (typeof value === "string" ? (JSON.parse(value) as T) : null);

export function alertsStateQuery(db: Db, organizationId: string) {
  return db
    .select({
      // Only the connection's own columns in here: drizzle makes the object null when the left
      // join found no connection.
      connection: {
        status: entraConnections.status,
        tenantName: entraConnections.tenantName,
        defaultDomain: entraConnections.defaultDomain,
        connectedAt: entraConnections.connectedAt,
        autoDeprovision: entraConnections.autoDeprovision,
        linkedMembers: entraConnections.linkedActiveMembers,
      },
      // Whether directory runs happen at all (Auto-deprovision sync, or Add new people automatically
      // alone: src/db/runEligibility.ts's one rule), for the glance's next run and the failed-run
      // banner. Outside `connection`: with no connection row it is 0, not null.
      runsExist: sql<number>`coalesce(${runsExistFor(sql`entra_connections`, sql`organizations`)}, 0)`.mapWith((value) => value === 1),
      heldRun: sql`(select json_object('id', id, 'startedAt', started_at, 'pendingChanges', json(pending_changes))
        from sync_runs where organization_id = entra_connections.organization_id and status = 'held'
        order by started_at desc, id desc limit 1)`.mapWith((value) => parsed<HeldRun>(value)),
      lastRun: sql`(select json_object('id', id, 'trigger', trigger, 'status', status, 'startedAt', started_at,
          'finishedAt', finished_at, 'error', error, 'deactivated', deactivated, 'reactivated', reactivated)
        from sync_runs where organization_id = entra_connections.organization_id and trigger <> 'preview' and status not in ('running', 'skipped')
        order by started_at desc, id desc limit 1)`.mapWith((value) => parsed<LastRun>(value)),
      realtime: sql`(select json_object('status', status, 'expiresAt', expires_at, 'failure', failure)
        from realtime_subscriptions where organization_id = entra_connections.organization_id)`.mapWith((value) => parsed<Realtime>(value)),
      // Only the id (for the link) and the URL: the sealed secrets never leave webhook_endpoints here.
      // SCIM deactivations held by the burst threshold (src/db/scimHolds.ts): one range of the partial
      // index scim_deprovisions_held, whatever the directory.
      scimHeld: sql`(select json_object('count', count(*), 'since', min(requested_at))
        from scim_deprovisions where organization_id = organizations.id and held = 1)`.mapWith((value) => {
        const held = parsed<ScimHeld>(value);
        return held && held.count > 0 ? held : null;
      }),
      failingEndpoints: sql`(select json_group_array(json_object('id', id, 'url', url))
        from webhook_endpoints where organization_id = organizations.id and enabled = 0 and disabled_reason = 'failing')`.mapWith(
        (value) => parsed<FailingEndpoint[]>(value) ?? [],
      ),
    })
    .from(organizations)
    .leftJoin(entraConnections, eq(entraConnections.organizationId, organizations.id))
    .where(eq(organizations.id, organizationId))
    .limit(1);
}

type Row = Awaited<ReturnType<typeof alertsStateQuery>>[number];

/** The directory's state: the connection with its held run, last run and real-time updates. */
export type DirectoryGlance = NonNullable<Row["connection"]> & Omit<Row, "connection" | "failingEndpoints" | "scimHeld">;

/** What the banner and the home page read: the directory's state (null: not connected) and the endpoints deliveries disabled. */
export interface AlertsState {
  directory: DirectoryGlance | null;
  failingEndpoints: FailingEndpoint[];
  /** SCIM deactivations held by the burst threshold (null: none). */
  scimHeld: ScimHeld | null;
}
