// Checking a changeNotificationCollection before anything acts on it
// (https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks: "validate the
// clientState property"; every item, since one POST may carry items of several subscriptions).
// A notification carries no trust: a verified item only names an organization whose directory is
// then read (reread.ts). Checking reads one index entry per subscription id and writes nothing, so
// forged traffic costs reads only.
//
// The rule, per POST (Microsoft's page above, sections "HTTP codes and retry logic" and
// "Throttling": https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#http-codes-and-retry-logic):
// - Forged: an item naming a subscription we hold whose clientState (or tenant, when given) does
//   not match. The whole POST is refused (403) and nothing in it acts, whatever else it carries.
//   Graph never sends such an item (it echoes the clientState we gave it, and a renewal keeps it),
//   so only a forger gets this answer and no retry follows it.
// - Acknowledged, doing nothing: an item naming a subscription we do not hold (never ours, or
//   deleted on disconnect, toggle off, downgrade or replacement, possibly while Graph still holds
//   it: a failed deletion lets it live there up to 29 days); a genuine item of one we hold that no
//   longer counts (expired at Graph, or its organization no longer eligible, until the nightly
//   upkeep deletes it); an item whose clientState we cannot open (its key left
//   TOKEN_ENCRYPTION_KEYS too early), which we cannot judge and which must not sink the other
//   tenants' items Graph batched with it. Graph counts any answer but 2xx as a failed delivery and
//   retries it for up to 4 hours, so refusing these would only bring them back again and again, and
//   it throttles, then drops notifications to, endpoints that answer slowly.
// - Acted on: the genuine items of subscriptions that count. The answer is 202 whenever nothing is
//   forged, also when no item is acted on (a POST of unknown ids only is a 202 that changes nothing).
// A 202 where a 403 was tells a caller that an id is not ours; ids are Graph's random GUIDs, so a
// forger learns nothing it did not need already, and a 202 lets it cause nothing.
import { z } from "zod";
import type { Db } from "../../db/client.ts";
import { findSubscriptionsForNotification } from "../../db/realtimeSubscriptions.ts";
import type { Config } from "../../lib/config.ts";
import { createTokenVault } from "../../lib/vault.ts";
import { vaultContext } from "../tokens.ts";

const LIFECYCLE_EVENTS = ["reauthorizationRequired", "subscriptionRemoved", "missed"] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

const item = z.object({
  subscriptionId: z.string().min(1).max(100),
  clientState: z.string().max(256).nullish(),
  tenantId: z.string().max(100).optional(),
  changeType: z.string().max(100).optional(),
  lifecycleEvent: z.string().max(100).optional(),
});
// Microsoft documents no batch size; 1,000 items is far above what one POST carries.
const collection = z.object({ value: z.array(item).min(1).max(1000) });

export interface VerifiedItem {
  organizationId: string;
  subscriptionId: string;
  /** Lifecycle notifications only: a known event, else null (ignored). */
  lifecycleEvent: LifecycleEvent | null;
}

type Verdict = { ok: true; items: VerifiedItem[] } | { ok: false; status: 400 | 403 };

/** Equal strings, in time that depends on neither: both are hashed first, then compared whole. */
async function sameSecret(presented: string, expected: string): Promise<boolean> {
  const digest = async (value: string) => new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
  const [a, b] = await Promise.all([digest(presented), digest(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * The items to act on: those whose subscription we hold and still counts, whose clientState matches
 * in constant time and whose tenant (when given) is the subscription's. Items of subscriptions we do
 * not hold, or that no longer count, are acknowledged and dropped; a single forged item refuses the
 * whole collection (403); a malformed one is 400. The rule and why: the comment at the top.
 */
export async function verifyNotifications(db: Db, config: Config, body: unknown): Promise<Verdict> {
  const parsed = collection.safeParse(body);
  if (!parsed.success) return { ok: false, status: 400 };
  const ids = [...new Set(parsed.data.value.map((i) => i.subscriptionId))];
  const rows = await findSubscriptionsForNotification(db, ids, Date.now());
  const byId = new Map(rows.map((row) => [row.subscriptionId, row]));
  const vault = createTokenVault(config.TOKEN_ENCRYPTION_KEYS);
  const secrets = new Map<string, string | null>();
  const items: VerifiedItem[] = [];
  for (const entry of parsed.data.value) {
    const row = byId.get(entry.subscriptionId);
    // Not a subscription we hold (a row without a clientState has no id Graph knows either).
    if (!row?.clientStateEnc) continue;
    if (!secrets.has(entry.subscriptionId)) {
      const opened = await vault.open(row.clientStateEnc, vaultContext(row.organizationId, row.tenantId, "client_state"));
      secrets.set(entry.subscriptionId, opened.ok ? opened.value : null);
    }
    const expected = secrets.get(entry.subscriptionId);
    if (!expected) continue;
    if (!(await sameSecret(entry.clientState ?? "", expected))) return { ok: false, status: 403 };
    if (entry.tenantId !== undefined && entry.tenantId.toLowerCase() !== row.tenantId.toLowerCase()) return { ok: false, status: 403 };
    if (!row.current) continue;
    const event = (LIFECYCLE_EVENTS as readonly string[]).includes(entry.lifecycleEvent ?? "")
      ? (entry.lifecycleEvent as LifecycleEvent)
      : null;
    items.push({ organizationId: row.organizationId, subscriptionId: entry.subscriptionId, lifecycleEvent: event });
  }
  return { ok: true, items };
}
