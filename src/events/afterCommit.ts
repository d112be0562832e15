// The one way to have events relayed once the batch that raised them has committed. Every place
// that commits changes which may raise events calls relayAfterCommit: the app after a
// state-changing request (app.tsx), a sign-in callback (routes/auth.tsx), each sync run at its end
// (entra/sync/workflow.ts) and the nightly Workflow, the outbox's safety net (nightly/workflow.ts).
// Events are rows of the outbox written in the change's own batch (catalogue.ts), so relaying
// late, twice, or after a failed relay loses nothing: a row stays pending until its messages are on
// the queue. That is why the relay never fails its caller: the change is already committed.
import type { Db } from "../db/client.ts";
import type { DeliveryQueue } from "./queue.ts";
import { relayPendingEvents, type RelayResult } from "./relay.ts";

/**
 * How the relay runs: here, spending this invocation's D1 round trips (after a response is sent,
 * or in a Workflow step), or on the deliveries queue's consumer, for a caller that keeps its D1
 * round trips (a sign-in callback): one queue message asks the consumer to relay.
 */
export type RelayWhere = { here: { db: Db; now: number } } | "on the queue";

/** Relays the outbox after a commit; never throws. Returns what a relay done here moved (null otherwise). */
export async function relayAfterCommit(queue: DeliveryQueue | undefined, where: RelayWhere): Promise<RelayResult | null> {
  // Without the binding (tests of a single module), the rows wait for a relay that has one.
  if (!queue) return null;
  try {
    if (where === "on the queue") {
      await queue.send({ relay: true });
      return null;
    }
    return await relayPendingEvents(where.here.db, queue, where.here.now);
  } catch (error) {
    // The rows stay pending for the next relay (the nightly one at the latest); log the kind only, never payloads.
    console.error("webhook relay failed", error instanceof Error ? error.name : typeof error);
    return null;
  }
}
