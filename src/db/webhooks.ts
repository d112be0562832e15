// Event webhooks' storage (migrations/0011): endpoints, the outbox of events, delivery attempts.
// Every query names the organization, except the relay's and the queue consumer's, which act for
// the system and read rows by the ids a message carries.
import { and, desc, eq, inArray, isNull, sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { planIncludes } from "./planFeatures.ts";
import { auditStatement, insertAuditEventsFor } from "./audit.ts";
import { statement, type Statement } from "./statements.ts";
import {
  organizations,
  webhookAttempts,
  webhookEndpoints,
  webhookEvents,
  type WebhookAttemptOutcome,
  type WebhookEventType,
} from "./schema.ts";

/**
 * A message on the webhook deliveries queue (src/events/queue.ts): one event for one endpoint,
 * or a request to relay the outbox from a request that may not spend a D1 round trip on it.
 */
export type DeliveryMessage =
  | {
      eventId: string;
      endpointId: string;
      /** When this delivery was first queued: retries stop 24 h after it. */
      queuedAt: number;
    }
  | { relay: true };

export type EventDelivery = Extract<DeliveryMessage, { eventId: string }>;

/** Attempts kept per endpoint for the delivery log. */
export const ATTEMPTS_KEPT = 100;
/** How long a rotated-out secret still signs, and how long an endpoint may fail before it is disabled. */
export const DAY_MS = 24 * 60 * 60 * 1000;
/** An endpoint is disabled when every attempt failed for a day and at least this many in a row. */
export const FAILURES_BEFORE_DISABLING = 10;

/** The stored form of a subscription: " a b c " (an event's statement tests ` type ` with instr: outbox.ts). */
export function eventTypesColumn(types: readonly string[]): string {
  return ` ${types.join(" ")} `;
}

export { eventTypesOf } from "./schema.ts";

/**
 * Adds the endpoint only while its organization has fewer than `limit`, and only if no endpoint
 * came from the same submission (`submissionKey`, unique per organization): the count, the
 * uniqueness and the insert are one statement, and D1 runs one statement at a time, so additions
 * racing at `limit - 1` cannot all pass (a count read first and an insert after let each of them
 * see room), nor can a form submitted twice at once add two. The result's `meta.changes` is 0 when
 * it added nothing; findEndpointBySubmission tells which refusal it was.
 */
export function insertEndpointWithinLimit(
  endpoint: {
    id: string;
    organizationId: string;
    url: string;
    eventTypes: readonly WebhookEventType[];
    secretEnc: string;
    submissionKey: string;
    createdBy: string;
    now: number;
  },
  limit: number,
): SQL {
  // SQLite needs the WHERE for an upsert on INSERT … SELECT (without one, ON would parse as a join).
  return sql`
    insert into ${webhookEndpoints} (id, organization_id, url, event_types, secret_enc, submission_key, created_by, created_at, updated_at)
    select ${endpoint.id}, ${endpoint.organizationId}, ${endpoint.url}, ${eventTypesColumn(endpoint.eventTypes)}, ${endpoint.secretEnc},
      ${endpoint.submissionKey}, ${endpoint.createdBy}, ${endpoint.now}, ${endpoint.now}
    where (select count(*) from ${webhookEndpoints} where organization_id = ${endpoint.organizationId}) < ${limit}
    on conflict (organization_id, submission_key) do nothing`;
}

/** The addition's audit row, written only if insertEndpointWithinLimit (earlier in the batch) added the endpoint. */
export function auditEndpointAdded(
  endpoint: { id: string; organizationId: string; eventTypes: readonly WebhookEventType[] },
  actorUserId: string,
  now: number,
): SQL {
  return insertAuditEventsFor(
    {
      organizationId: endpoint.organizationId,
      actorUserId,
      action: "webhook.endpoint_added",
      details: sql`json_object('endpointId', id, 'url', url, 'eventTypes', json(${JSON.stringify(endpoint.eventTypes)}))`,
      now,
    },
    sql`from ${webhookEndpoints} where id = ${endpoint.id} and organization_id = ${endpoint.organizationId}`,
  );
}

const endpointColumns = {
  id: webhookEndpoints.id,
  url: webhookEndpoints.url,
  eventTypes: webhookEndpoints.eventTypes,
  enabled: webhookEndpoints.enabled,
  disabledReason: webhookEndpoints.disabledReason,
  disabledAt: webhookEndpoints.disabledAt,
  previousSecretExpiresAt: webhookEndpoints.previousSecretExpiresAt,
  failingSince: webhookEndpoints.failingSince,
  consecutiveFailures: webhookEndpoints.consecutiveFailures,
  createdAt: webhookEndpoints.createdAt,
};

/** The organization's endpoints, oldest first; never their secrets. */
export function listEndpoints(db: Db, organizationId: string) {
  return db
    .select(endpointColumns)
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.organizationId, organizationId))
    .orderBy(webhookEndpoints.createdAt);
}

export type EndpointSummary = Awaited<ReturnType<typeof listEndpoints>>[number];

export async function findEndpoint(db: Db, organizationId: string, endpointId: string): Promise<EndpointSummary | undefined> {
  const [row] = await db
    .select(endpointColumns)
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.organizationId, organizationId), eq(webhookEndpoints.id, endpointId)));
  return row;
}

/** The endpoint a submission already added, if any (for its second answer: named, never its secret). */
export async function findEndpointBySubmission(
  db: Db,
  organizationId: string,
  submissionKey: string,
): Promise<EndpointSummary | undefined> {
  const [row] = await db
    .select(endpointColumns)
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.organizationId, organizationId), eq(webhookEndpoints.submissionKey, submissionKey)));
  return row;
}

/** For delivery: the endpoint with its sealed secrets, and its organization's plan. */
export async function findEndpointForDelivery(db: Db, endpointId: string) {
  const [row] = await db
    .select({ endpoint: webhookEndpoints, plan: organizations.plan })
    .from(webhookEndpoints)
    .innerJoin(organizations, eq(organizations.id, webhookEndpoints.organizationId))
    .where(eq(webhookEndpoints.id, endpointId));
  return row ? { ...row.endpoint, plan: row.plan } : undefined;
}

export type DeliveryEndpoint = NonNullable<Awaited<ReturnType<typeof findEndpointForDelivery>>>;

export function setEndpointEnabled(db: Db, organizationId: string, endpointId: string, enabled: boolean, now: number) {
  return db
    .update(webhookEndpoints)
    .set(
      enabled
        ? { enabled: true, disabledReason: null, disabledAt: null, failingSince: null, consecutiveFailures: 0, updatedAt: now }
        : { enabled: false, disabledReason: "by_hand", disabledAt: now, updatedAt: now },
    )
    .where(and(eq(webhookEndpoints.organizationId, organizationId), eq(webhookEndpoints.id, endpointId)));
}

/** The new secret signs from now on; the one it replaces also signs for a day. */
export function rotateEndpointSecret(db: Db, organizationId: string, endpointId: string, secretEnc: string, now: number) {
  return db
    .update(webhookEndpoints)
    .set({
      previousSecretEnc: sql`${webhookEndpoints.secretEnc}`,
      previousSecretExpiresAt: now + DAY_MS,
      secretEnc,
      updatedAt: now,
    })
    .where(and(eq(webhookEndpoints.organizationId, organizationId), eq(webhookEndpoints.id, endpointId)));
}

/**
 * Send test event and Redeliver: at most one per organization and receiving URL in this interval,
 * so nobody can make a URL (theirs or, through it, anyone's) receive a stream of requests by
 * clicking, nor fill the queue. Keyed by the URL, not the endpoint: deleting an endpoint and adding
 * it again, or adding the same URL twice, is the same receiver and gets no new slot (issue 18:
 * six signed POSTs in 5.9 s that way). Why a table and not a rate limiting binding like
 * SIGN_IN_LIMITER: the binding counts per Cloudflare location and only roughly (eventually
 * consistent), and allows only 10 s or 60 s periods; the row is exact across locations and
 * requests, and costs one statement that an action writing to D1 anyway can spare. Why not the
 * delivery log: an attempt is logged only once the consumer ran, so quick clicks would all pass.
 */
export const MANUAL_SEND_INTERVAL_MS = 10_000;

/**
 * The receiver a URL names, for the pace: the URL without its query and fragment (endpoint URLs
 * are stored as `new URL` wrote them, so the scheme and host are already lower case). A query can
 * be varied at will and still reach the same receiver.
 */
export function manualSendKey(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/**
 * Takes the manual send slot of the organization's URL: true when its last Send test event or
 * Redeliver was long enough ago (and records this one), false when it is too soon. One statement
 * (an upsert that updates only an old enough row), so two clicks at once cannot both pass.
 */
export async function takeManualSendSlot(db: Db, organizationId: string, url: string, now: number): Promise<boolean> {
  const rows = await db.all<{ sent_at: number }>(sql`
    insert into webhook_manual_sends (organization_id, url_key, sent_at) values (${organizationId}, ${manualSendKey(url)}, ${now})
    on conflict (organization_id, url_key) do update set sent_at = excluded.sent_at
      where webhook_manual_sends.sent_at <= ${now - MANUAL_SEND_INTERVAL_MS}
    returning sent_at`);
  return rows.length === 1;
}

export function deleteEndpointStatements(db: Db, organizationId: string, endpointId: string) {
  return [
    db.delete(webhookAttempts).where(and(eq(webhookAttempts.organizationId, organizationId), eq(webhookAttempts.endpointId, endpointId))),
    db.delete(webhookEndpoints).where(and(eq(webhookEndpoints.organizationId, organizationId), eq(webhookEndpoints.id, endpointId))),
  ] as const;
}

// --- The outbox -------------------------------------------------------------------------------

/**
 * A relay's claim on the rows it is sending. Long enough for any relay call (at most 10 rounds of
 * a few seconds), short enough that rows a crashed relay claimed are sent again within minutes.
 */
export const RELAY_CLAIM_LEASE_MS = 5 * 60 * 1000;

/**
 * Claims up to `limit` pending events, oldest first, for one relay: a single statement stamps
 * `claimed_at` and returns them, so two relays running at once never get the same row (D1 runs one
 * statement at a time). Rows claimed by a relay that crashed before marking them are claimable
 * again once the lease has passed. The subquery is a range of the partial index webhook_events_pending.
 */
export async function claimPendingEvents(db: Db, limit: number, now: number) {
  const rows = await db
    .update(webhookEvents)
    .set({ claimedAt: now })
    .where(
      inArray(
        webhookEvents.seq,
        db
          .select({ seq: webhookEvents.seq })
          .from(webhookEvents)
          .where(and(isNull(webhookEvents.relayedAt), sql`coalesce(${webhookEvents.claimedAt}, 0) <= ${now - RELAY_CLAIM_LEASE_MS}`))
          .orderBy(webhookEvents.seq)
          .limit(limit),
      ),
    )
    .returning({ seq: webhookEvents.seq, id: webhookEvents.id, organizationId: webhookEvents.organizationId, type: webhookEvents.type });
  return rows.sort((a, b) => a.seq - b.seq);
}

/** The rows' seqs as one bound parameter (a round has up to 2,000; D1 allows 100 parameters). */
const seqIn = (seqs: number[]) => sql`${webhookEvents.seq} in (select value from json_each(${JSON.stringify(seqs)}))`;

/** Claimed events whose messages are all on the queue. */
export function markEventsRelayed(db: Db, seqs: number[], now: number) {
  return db
    .update(webhookEvents)
    .set({ relayedAt: now })
    .where(and(seqIn(seqs), isNull(webhookEvents.relayedAt)));
}

/** Gives claimed events back to the next relay (their messages did not all reach the queue). */
export function releaseEvents(db: Db, seqs: number[], claimedAt: number) {
  return db
    .update(webhookEvents)
    .set({ claimedAt: null })
    .where(and(seqIn(seqs), isNull(webhookEvents.relayedAt), eq(webhookEvents.claimedAt, claimedAt)));
}

/**
 * Enabled endpoints of these organizations whose plan has event webhooks, for the relay
 * (organizations chunked under D1's 100 parameters): events raised before a downgrade go nowhere.
 */
export function listEnabledEndpointsOf(db: Db, organizationIds: string[]) {
  return db
    .select({ id: webhookEndpoints.id, organizationId: webhookEndpoints.organizationId, eventTypes: webhookEndpoints.eventTypes })
    .from(webhookEndpoints)
    .innerJoin(organizations, and(eq(organizations.id, webhookEndpoints.organizationId), planIncludes(organizations.plan, "eventWebhooks")))
    .where(and(inArray(webhookEndpoints.organizationId, organizationIds), eq(webhookEndpoints.enabled, true)));
}

export async function findEvent(db: Db, eventId: string) {
  const [row] = await db.select().from(webhookEvents).where(eq(webhookEvents.id, eventId));
  return row;
}

/** An event of the organization, for Redeliver; a test event also says which endpoint it was for. */
export async function findEventOf(db: Db, organizationId: string, eventId: string) {
  const [row] = await db
    .select({
      id: webhookEvents.id,
      type: webhookEvents.type,
      testEndpointId: sql<
        string | null
      >`case when ${webhookEvents.type} = 'webhook.test' then json_extract(${webhookEvents.payload}, '$.data.endpoint_id') end`,
    })
    .from(webhookEvents)
    .where(and(eq(webhookEvents.organizationId, organizationId), eq(webhookEvents.id, eventId)));
  return row;
}

/** A test event for one endpoint: already "relayed", since only Send test event delivers it. */
export function insertTestEvent(db: Db, event: { id: string; organizationId: string; payload: string; now: number }) {
  return db.insert(webhookEvents).values({
    id: event.id,
    organizationId: event.organizationId,
    type: "webhook.test",
    payload: event.payload,
    createdAt: event.now,
    relayedAt: event.now,
  });
}

// --- Delivery attempts ------------------------------------------------------------------------

export interface AttemptRecord {
  endpointId: string;
  organizationId: string;
  eventId: string;
  eventType: string;
  attempt: number;
  attemptedAt: number;
  durationMs: number;
  outcome: WebhookAttemptOutcome;
  statusCode: number | null;
  error: string | null;
  responseExcerpt: string | null;
}

/**
 * One attempt's writes, one batch: the log row, the endpoint's failure streak (a success ends it;
 * a day of nothing but failures, at least FAILURES_BEFORE_DISABLING of them, disables it, audited
 * in the same batch; an attempt not made, such as one refused for the plan, leaves the streak), and
 * the log pruned to the endpoint's last ATTEMPTS_KEPT.
 */
export function recordAttemptStatements(db: Db, attempt: AttemptRecord, streak: "success" | "failure" | "unchanged"): Statement[] {
  const { endpointId, organizationId, attemptedAt: now } = attempt;
  const thisEndpoint = sql`id = ${endpointId} and organization_id = ${organizationId}`;
  const failingTooLong = sql`enabled = 1 and coalesce(failing_since, ${now}) <= ${now - DAY_MS}
    and consecutive_failures + 1 >= ${FAILURES_BEFORE_DISABLING}`;
  const writes: Statement[] = [statement(db, db.insert(webhookAttempts).values(attempt))];
  if (streak === "success") {
    writes.push(statement(db, sql`update webhook_endpoints set failing_since = null, consecutive_failures = 0 where ${thisEndpoint}`));
  } else if (streak === "failure") {
    writes.push(
      // Audited before the update that disables, while the condition still reads the old streak.
      auditStatement(
        db,
        {
          organizationId,
          actorUserId: null,
          action: "webhook.endpoint_disabled_failing",
          details: sql`json_object('endpointId', id, 'url', url, 'failures', consecutive_failures + 1, 'failingSince', failing_since)`,
          now,
        },
        sql`from webhook_endpoints where ${thisEndpoint} and ${failingTooLong}`,
      ),
      statement(
        db,
        sql`
        update webhook_endpoints set
          enabled = case when ${failingTooLong} then 0 else enabled end,
          disabled_reason = case when ${failingTooLong} then 'failing' else disabled_reason end,
          disabled_at = case when ${failingTooLong} then ${now} else disabled_at end,
          failing_since = coalesce(failing_since, ${now}),
          consecutive_failures = consecutive_failures + 1
        where ${thisEndpoint}`,
      ),
    );
  }
  writes.push(
    statement(
      db,
      sql`
      delete from webhook_attempts where endpoint_id = ${endpointId} and id <= (
        select id from webhook_attempts where endpoint_id = ${endpointId} order by id desc limit 1 offset ${ATTEMPTS_KEPT})`,
    ),
  );
  return writes;
}

/** The delivery log: the endpoint's attempts, newest first. */
export function listAttempts(db: Db, organizationId: string, endpointId: string, limit = ATTEMPTS_KEPT) {
  return db
    .select()
    .from(webhookAttempts)
    .where(and(eq(webhookAttempts.organizationId, organizationId), eq(webhookAttempts.endpointId, endpointId)))
    .orderBy(desc(webhookAttempts.id))
    .limit(limit);
}

export type AttemptRow = Awaited<ReturnType<typeof listAttempts>>[number];
