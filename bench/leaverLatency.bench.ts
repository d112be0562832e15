// Leaver latency with real-time updates (issue 11), printed, not asserted: milliseconds from the
// emulator's change (a user disabled through its admin API) to the member's deactivation and the
// end of their sessions, over 20 leavers disabled one by one and then 20 at once (a burst). Each
// change goes the whole way: the emulator POSTs the notification to the app's webhook, the webhook
// checks it and starts a notification-triggered DirectorySyncWorkflow run, and that delta run
// deactivates. Per burst: the Graph requests and D1 round trips of the runs the burst caused (from
// the runs' own counters), and how many delta reads it took.
import { env } from "cloudflare:test";
import { it } from "vitest";
import type { SyncRunOutput } from "../src/entra/sync/workflow.ts";
import { connectContoso } from "../test/support/entra.ts";
import { createDirectoryUser, emulatorAdmin } from "../test/support/emulator.ts";
import { linkMember } from "../test/support/people.ts";
import { CONTOSO, nightlyRun, resetWorld } from "../test/sync/support.ts";

const LEAVERS = 20;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
};

/** Milliseconds until the member is deactivated and has no session left (polled every 10 ms). */
async function goneAfter(userId: string, since: number): Promise<number> {
  for (;;) {
    const row = await env.DB.prepare(`select m.status as status, (select count(*) from sessions s where s.user_id = m.user_id) as sessions
      from memberships m where m.organization_id = ? and m.user_id = ?`)
      .bind(CONTOSO, userId)
      .first<{ status: string; sessions: number }>();
    if (row?.status === "deactivated" && row.sessions === 0) return Date.now() - since;
    if (Date.now() - since > 60_000) throw new Error("leaver still active after 60 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function withSession(userId: string) {
  await env.DB.prepare(
    "insert into sessions (token_hash, user_id, organization_id, created_at, last_seen_at, expires_at) values (?, ?, ?, 1, 1, 9999999999999)",
  )
    .bind(`bench-${userId}`, userId, CONTOSO)
    .run();
}

async function notificationRunsSince(startedAt: number) {
  return (
    await env.DB.prepare("select id from sync_runs where organization_id = ? and trigger = 'realtime' and started_at >= ?")
      .bind(CONTOSO, startedAt)
      .all<{ id: string }>()
  ).results.map((r) => r.id);
}

/** Waits until every run is closed and no re-read is pending; returns the runs' outputs. */
async function settledOutputs(runIds: () => Promise<string[]>): Promise<SyncRunOutput[]> {
  for (;;) {
    const going = await env.DB.prepare("select count(*) as n from sync_runs where organization_id = ? and status = 'running'")
      .bind(CONTOSO)
      .first<{ n: number }>();
    const pending = await env.DB.prepare("select reread_pending as p from realtime_subscriptions where organization_id = ?")
      .bind(CONTOSO)
      .first<{ p: number }>();
    if (going?.n === 0 && !pending?.p) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const outputs: SyncRunOutput[] = [];
  for (const id of await runIds()) {
    const instance = await env.SYNC_WORKFLOW.get(id);
    for (;;) {
      const status = await instance.status();
      if (status.status === "complete") {
        outputs.push(status.output as SyncRunOutput);
        break;
      }
      if (status.status === "errored" || status.status === "terminated") break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return outputs;
}

it("leaver_latency", async () => {
  await resetWorld();
  await emulatorAdmin("notifications", { drop: 0 });
  await connectContoso(["auto-deprovision"]);
  // 40 leavers among 240 linked members, and a threshold no burst reaches: the hold is not measured here.
  const people = [];
  for (let i = 0; i < 2 * LEAVERS + 200; i++) people.push(await linkMember(await createDirectoryUser(`Bench ${i}`)));
  await env.DB.prepare(
    "update entra_connections set hold_threshold_percent = 100, hold_threshold_minimum = 1000000 where organization_id = ?",
  )
    .bind(CONTOSO)
    .run();
  // A first run lists everyone and stores the delta link: every read after it is a delta.
  await nightlyRun();
  const latencies: number[] = [];

  const oneByOne = people.slice(0, LEAVERS);
  for (const person of oneByOne) {
    await withSession(person.userId);
    await env.DB.prepare("select 1").first();
    const since = Date.now();
    await emulatorAdmin(`users/${person.subject}/disable`);
    latencies.push(await goneAfter(person.userId, since));
    await settledOutputs(async () => []);
  }

  const burst = people.slice(LEAVERS, 2 * LEAVERS);
  for (const person of burst) await withSession(person.userId);
  await emulatorAdmin("stats/reset");
  await env.DB.prepare("select 1").first();
  const burstStart = Date.now();
  await Promise.all(burst.map((person) => emulatorAdmin(`users/${person.subject}/disable`)));
  latencies.push(...(await Promise.all(burst.map((person) => goneAfter(person.userId, burstStart)))));
  const outputs = await settledOutputs(() => notificationRunsSince(burstStart));
  const stats = await emulatorAdmin<{ requests: Record<string, number> }>("stats", undefined, "GET");
  const graphEndpoints = ["users", "delta", "user", "batch", "subscriptions"];

  console.log(
    `BENCH ${JSON.stringify({
      scenario: "leaver_latency",
      leavers: LEAVERS,
      median_ms: median(latencies),
      max_ms: Math.max(...latencies),
      one_by_one_median_ms: median(latencies.slice(0, LEAVERS)),
      burst_median_ms: median(latencies.slice(LEAVERS)),
      burst_max_ms: Math.max(...latencies.slice(LEAVERS)),
      delta_reads_per_burst: outputs.length,
      graph_requests_per_burst: outputs.reduce((sum, o) => sum + o.graphRequests, 0),
      graph_requests_per_burst_at_emulator: graphEndpoints.reduce((sum, name) => sum + (stats.requests[name] ?? 0), 0),
      d1_round_trips_per_burst: outputs.reduce((sum, o) => sum + o.d1.roundTrips, 0),
      notifications_per_burst: LEAVERS,
    })}`,
  );
});
