// Real-time updates through the real handlers, Workflow and D1, with the emulator as Microsoft
// Graph: it holds the subscription and POSTs notifications to the app (vitest.config.ts, APP).
import { SELF, env } from "cloudflare:test";
import { expect } from "vitest";
import { loadConfig } from "../../src/lib/config.ts";
import { emulatorAdmin } from "../support/emulator.ts";
import { withoutSleeps } from "../support/workflows.ts";
import { CONTOSO, resetWorld, until } from "../sync/support.ts";

/**
 * How long a real-time read waits for the rest of a burst here: 500 ms, a quarter of production's
 * 2 s (REALTIME_GATHER_MS: vitest.config.ts). Tests that script a burst pace it by this wait, so
 * the burst arrives as the same slices it would in production, four times faster.
 */
export const GATHER_MS = loadConfig(env).REALTIME_GATHER_MS;

/**
 * The real-time reads started while this lives skip their wait for the rest of a burst
 * (REALTIME_GATHER_MS, src/entra/sync/workflow.ts), through cloudflare:test's Workflow
 * introspection: for tests of one change, where the wait only costs time. Tests of bursts, races and
 * the threshold keep the wait. `await using` ends it with the test.
 */
export function withoutBurstWait() {
  return withoutSleeps(env.SYNC_WORKFLOW);
}

/** The demo world with change notifications delivered (the sync suites hold them back). */
export async function realtimeWorld() {
  await resetWorld();
  await emulatorAdmin("notifications", { drop: 0 });
}

export const WEBHOOK = "http://localhost:8787/realtime/microsoft-graph";

export interface StoredSubscription {
  organization_id: string;
  tenant_id: string;
  subscription_id: string | null;
  client_state_enc: string | null;
  status: string;
  expires_at: number | null;
  failure: string | null;
  last_notification_at: number | null;
  last_notification_run_id: string | null;
  reread_pending: number;
}

export function storedSubscription(organizationId = CONTOSO) {
  return env.DB.prepare("select * from realtime_subscriptions where organization_id = ?").bind(organizationId).first<StoredSubscription>();
}

export interface GraphSubscription {
  id: string;
  tenantId: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expirationDateTime: string;
}

/** The subscriptions the emulator (Graph) holds. */
export async function graphSubscriptions(): Promise<GraphSubscription[]> {
  return (await emulatorAdmin<{ value: GraphSubscription[] }>("subscriptions", undefined, "GET")).value;
}

export interface Sent {
  kind: string;
  url: string;
  body: string | null;
  status: number | null;
}
export async function sentNotifications(): Promise<Sent[]> {
  return (await emulatorAdmin<{ value: Sent[] }>("notifications/sent", undefined, "GET")).value;
}

/** POSTs to the app's webhook as anyone on the internet could. */
export function postToWebhook(path: "users" | "lifecycle", body: unknown, query = ""): Promise<Response> {
  return SELF.fetch(
    new Request(`${WEBHOOK}/${path}${query}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}

export function notificationFor(subscriptionId: string, clientState: string | null, oid = crypto.randomUUID(), tenantId?: string) {
  return {
    value: [
      {
        subscriptionId,
        clientState,
        changeType: "updated",
        resource: `Users/${oid}`,
        resourceData: { "@odata.type": "#Microsoft.Graph.User", "@odata.id": `Users/${oid}`, id: oid },
        subscriptionExpirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
        ...(tenantId ? { tenantId } : {}),
      },
    ],
  };
}

export interface RunCount {
  n: number;
}
export async function notificationRuns(organizationId = CONTOSO) {
  return (
    await env.DB.prepare(
      "select id, status, mode, deactivated from sync_runs where organization_id = ? and trigger = 'realtime' order by started_at",
    )
      .bind(organizationId)
      .all<{ id: string; status: string; mode: string; deactivated: number }>()
  ).results;
}

/** Every notification run has ended (and no re-read is pending). */
export async function runsSettled(organizationId = CONTOSO): Promise<void> {
  await until(async () => {
    const going = await env.DB.prepare("select count(*) as n from sync_runs where organization_id = ? and status = 'running'")
      .bind(organizationId)
      .first<RunCount>();
    const pending = await storedSubscription(organizationId);
    return going?.n === 0 && !pending?.reread_pending;
  }, 60_000);
}

/** Rows written anywhere that anonymous traffic could reach. */
export async function writableRowCounts() {
  const tables = ["sync_runs", "audit_events", "realtime_subscriptions", "sessions"] as const;
  const counts: Record<string, number> = {};
  for (const table of tables) counts[table] = (await env.DB.prepare(`select count(*) as n from ${table}`).first<RunCount>())!.n;
  const marks = await env.DB.prepare(
    "select coalesce(sum(reread_pending), 0) as n, coalesce(max(last_notification_at), 0) as at from realtime_subscriptions",
  ).first<{ n: number; at: number }>();
  counts.pending = marks!.n;
  counts.lastNotificationAt = marks!.at;
  return counts;
}

/**
 * After a notification that must change nothing: gives work handed off after the answer time to
 * show, then checks that no row was written and no real-time run started.
 */
export async function expectNothingChanged(before: Awaited<ReturnType<typeof writableRowCounts>>) {
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await writableRowCounts()).toEqual(before);
  expect(await notificationRuns()).toEqual([]);
}
