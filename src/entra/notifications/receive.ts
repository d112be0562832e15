// Checking a changeNotificationCollection before anything acts on it
// (https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks: "validate the
// clientState property"; every item, since one POST may carry items of several subscriptions).
// A notification carries no trust: a verified item only names an organization whose directory is
// then read (reread.ts). Checking reads one index entry per subscription id and writes nothing, so
// forged traffic costs reads only.
import { z } from "zod";
import type { Db } from "../../db/client.ts";
import { findSubscriptionsForNotification } from "../../db/subscriptions.ts";
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
 * The items whose subscription is ours and not expired, whose clientState matches in constant time and
 * whose tenant (when given) is the subscription's. Items that fail are dropped; a collection with
 * no item left is refused (403), a malformed one is 400.
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
    if (!row?.clientStateEnc) continue;
    if (!secrets.has(entry.subscriptionId)) {
      const opened = await vault.open(row.clientStateEnc, vaultContext(row.organizationId, row.tenantId, "client_state"));
      secrets.set(entry.subscriptionId, opened.ok ? opened.value : null);
    }
    const expected = secrets.get(entry.subscriptionId);
    if (!expected || !(await sameSecret(entry.clientState ?? "", expected))) continue;
    if (entry.tenantId !== undefined && entry.tenantId.toLowerCase() !== row.tenantId.toLowerCase()) continue;
    const event = (LIFECYCLE_EVENTS as readonly string[]).includes(entry.lifecycleEvent ?? "") ? (entry.lifecycleEvent as LifecycleEvent) : null;
    items.push({ organizationId: row.organizationId, subscriptionId: entry.subscriptionId, lifecycleEvent: event });
  }
  return items.length > 0 ? { ok: true, items } : { ok: false, status: 403 };
}
