// The relay: moves committed outbox rows (webhook_events) onto the deliveries queue, one message per
// event and subscribed endpoint. It is started by relayAfterCommit (afterCommit.ts), the one helper
// every committing place calls, and by the queue's consumer when asked. A relay first claims its rows
// (one statement stamps them and returns them), so relays running at once never send the same
// row; once a round's messages are on the queue its rows are marked relayed. If the queue refuses
// a batch, the rows not yet sent are released for the next call; if the relay dies between claim
// and mark, its claim lapses after RELAY_CLAIM_LEASE_MS and a later relay sends them: at least
// once. Receivers de-duplicate on `webhook-id`, the event's id whatever the endpoint or attempt.
import type { Db } from "../db/client.ts";
import { runStatements } from "../db/statements.ts";
import { claimPendingEvents, eventTypesOf, listEnabledEndpointsOf, markEventsRelayed, releaseEvents } from "../db/webhooks.ts";
import { MAX_DELAY_SECONDS, SEND_BATCH_LIMIT, type DeliveryMessage, type DeliveryQueue } from "./queue.ts";

/**
 * Outbox rows per round: one D1 statement claiming them, one endpoint lookup, 20 queue sends of
 * 100, and one statement marking them relayed. A 10,000-member run is 5 rounds.
 */
const EVENTS_PER_ROUND = 2000;
/** Rounds per call: 20,000 events (200 queue sends, under the 1,000 subrequests of an invocation); the rest waits for the next relay. */
const MAX_ROUNDS = 10;
/** Organizations per endpoint lookup, under D1's 100 bound parameters. */
const ORGS_PER_LOOKUP = 90;
/**
 * Pacing. A 10,000-member deprovisioning run raises 10,000 events; sent at once they would hit each
 * receiver with 10,000 requests in one burst. Instead every endpoint's messages are spread with the
 * queue's per-message delay: the n-th message for an endpoint in this call waits n / 20 seconds, so
 * an endpoint receives about 20 a second (10,000 events over about 8 minutes). The consumer sends a
 * batch's messages concurrently, so its batch size and concurrency (wrangler.toml: 10 × 5) bound
 * the requests in flight across all endpoints to 50, and a slow endpoint holds up its batch for at
 * most the 5 s delivery timeout (consumer.ts). Send test event and Redeliver are one per
 * organization and endpoint URL every 10 s (MANUAL_SEND_INTERVAL_MS).
 */
export const DELIVERIES_PER_SECOND_PER_ENDPOINT = 20;

export interface RelayResult {
  events: number;
  messages: number;
  /** D1 round trips the relay made (the bench reports them). */
  d1RoundTrips: number;
  queueSends: number;
}

export async function relayPendingEvents(db: Db, queue: DeliveryQueue, now: number): Promise<RelayResult> {
  const result: RelayResult = { events: 0, messages: 0, d1RoundTrips: 0, queueSends: 0 };
  const sentPerEndpoint = new Map<string, number>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const events = await claimPendingEvents(db, EVENTS_PER_ROUND, now);
    result.d1RoundTrips++;
    if (events.length === 0) break;

    const organizationIds = [...new Set(events.map((event) => event.organizationId))];
    const endpointsByOrg = new Map<string, { id: string; types: Set<string> }[]>();
    for (let i = 0; i < organizationIds.length; i += ORGS_PER_LOOKUP) {
      const endpoints = await listEnabledEndpointsOf(db, organizationIds.slice(i, i + ORGS_PER_LOOKUP));
      result.d1RoundTrips++;
      for (const endpoint of endpoints) {
        const list = endpointsByOrg.get(endpoint.organizationId) ?? [];
        list.push({ id: endpoint.id, types: new Set(eventTypesOf(endpoint.eventTypes)) });
        endpointsByOrg.set(endpoint.organizationId, list);
      }
    }

    const messages: { body: DeliveryMessage; delaySeconds: number }[] = [];
    /** Each event's seq and the index after its last message, to release what a failed send left. */
    const ends: { seq: number; end: number }[] = [];
    for (const event of events) {
      for (const endpoint of endpointsByOrg.get(event.organizationId) ?? []) {
        if (!endpoint.types.has(event.type)) continue;
        const sent = sentPerEndpoint.get(endpoint.id) ?? 0;
        sentPerEndpoint.set(endpoint.id, sent + 1);
        messages.push({
          body: { eventId: event.id, endpointId: endpoint.id, queuedAt: now },
          delaySeconds: Math.min(Math.floor(sent / DELIVERIES_PER_SECOND_PER_ENDPOINT), MAX_DELAY_SECONDS),
        });
      }
      ends.push({ seq: event.seq, end: messages.length });
    }
    for (let i = 0; i < messages.length; i += SEND_BATCH_LIMIT) {
      try {
        await queue.sendBatch(messages.slice(i, i + SEND_BATCH_LIMIT));
      } catch (error) {
        // Events whose messages are all on the queue are relayed; every other one goes back to
        // pending (one sent in part is sent again whole: receivers de-duplicate on webhook-id).
        const sent = ends.filter((event) => event.end <= i).map((event) => event.seq);
        const unsent = ends.filter((event) => event.end > i).map((event) => event.seq);
        await runStatements(db, [...(sent.length ? [markEventsRelayed(db, sent, now)] : []), releaseEvents(db, unsent, now)]);
        throw error;
      }
      result.queueSends++;
    }
    await markEventsRelayed(
      db,
      events.map((event) => event.seq),
      now,
    );
    result.d1RoundTrips++;
    result.events += events.length;
    result.messages += messages.length;
    if (events.length < EVENTS_PER_ROUND) break;
  }
  return result;
}
