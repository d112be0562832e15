// The webhook Microsoft Graph POSTs to: the validation handshake, and notifications that must prove
// their subscription id and clientState before anything happens.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID } from "../../demo/directory.ts";
import { connectContoso } from "../support/entra.ts";
import { emulatorAdmin, createDirectoryUser } from "../support/emulator.ts";
import { linkMember } from "../support/people.ts";
import { createDb } from "../../src/db/client.ts";
import { findSubscriptionsForNotification } from "../../src/db/realtimeSubscriptions.ts";
import { nightlyRunId } from "../../src/entra/sync/schedule.ts";
import { CONTOSO, fireCron, membership, nextCronTime, until } from "../sync/support.ts";
import {
  expectNothingChanged,
  type GraphSubscription,
  graphSubscriptions,
  notificationFor,
  notificationRuns,
  postToWebhook,
  runsSettled,
  sentNotifications,
  storedSubscription,
  writableRowCounts,
  realtimeWorld,
  withoutBurstWait,
} from "./support.ts";

beforeEach(realtimeWorld);

describe("the validation handshake", () => {
  it("echoes validationToken as text/plain with 200, on both URLs, writing nothing", async () => {
    const before = await writableRowCounts();
    for (const path of ["users", "lifecycle"] as const) {
      const token = "Validation: Testing client application reachability for subscription Request-Id: 7b2c";
      const response = await postToWebhook(path, "", `?validationToken=${encodeURIComponent(token)}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(await response.text()).toBe(token);
    }
    expect(await writableRowCounts()).toEqual(before);
  });

  it("is what Microsoft (the emulator) checked when the subscription was created", async () => {
    await connectContoso(["auto-deprovision"]);
    const validations = (await sentNotifications()).filter((s) => s.kind === "validation");
    expect(validations.map((v) => [new URL(v.url).pathname, v.status])).toEqual([
      ["/realtime/microsoft-graph/users", 200],
      ["/realtime/microsoft-graph/lifecycle", 200],
    ]);
  });

  it("refuses an empty or oversized token", async () => {
    expect((await postToWebhook("users", "", "?validationToken=")).status).toBe(400);
    expect((await postToWebhook("users", "", `?validationToken=${"a".repeat(2000)}`)).status).toBe(400);
  });
});

describe("what a POST may carry", () => {
  it("items of any number of subscriptions: the ids are one bound parameter, and ours among 150 strangers still counts", async () => {
    await using _ = await withoutBurstWait();
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    const strangers = Array.from({ length: 149 }, () => crypto.randomUUID());
    // D1 binds at most 100 parameters a statement (the local D1 does not enforce it): the lookup binds a fixed few.
    const query = findSubscriptionsForNotification(createDb(env.DB), [...strangers, held!.id], Date.now());
    expect(query.toSQL().params.length).toBeLessThan(10);
    const body = {
      value: [...strangers.map((id) => notificationFor(id, "guess").value[0]!), notificationFor(held!.id, held!.clientState).value[0]!],
    };
    expect((await postToWebhook("users", body)).status).toBe(202);
    await until(async () => (await notificationRuns()).length === 1, 30_000);
    await runsSettled();
  });

  it("a subscription whose renewal failed still counts until it expires at Graph, and not after", async () => {
    await using _ = await withoutBurstWait();
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    await env.DB.prepare("update realtime_subscriptions set status = 'failed', failure = 'graph_unavailable' where organization_id = ?")
      .bind(CONTOSO)
      .run();
    expect((await postToWebhook("users", notificationFor(held!.id, held!.clientState))).status).toBe(202);
    await until(async () => (await notificationRuns()).length === 1, 30_000);
    await runsSettled();
    await env.DB.prepare("update realtime_subscriptions set expires_at = ? where organization_id = ?")
      .bind(Date.now() - 1000, CONTOSO)
      .run();
    // After it expired: Graph's late retry of a genuine notification is acknowledged (202) and reads
    // nothing; a wrong clientState is still refused.
    const before = await writableRowCounts();
    expect((await postToWebhook("users", notificationFor(held!.id, held!.clientState))).status).toBe(202);
    expect((await postToWebhook("users", notificationFor(held!.id, "wrong"))).status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await writableRowCounts()).toEqual(before);
    expect(await notificationRuns()).toHaveLength(1);
  });
});

describe("subscriptions we do not hold: acknowledged, so Graph stops retrying, and nothing changes", () => {
  it("only unknown subscription ids, on both URLs: 202, no row written, no read", async () => {
    await connectContoso(["auto-deprovision"]);
    const before = await writableRowCounts();
    for (const path of ["users", "lifecycle"] as const) {
      const body = {
        value: [
          notificationFor(crypto.randomUUID(), "guess").value[0]!,
          { subscriptionId: crypto.randomUUID(), clientState: null, lifecycleEvent: "missed" },
        ],
      };
      expect((await postToWebhook(path, body)).status, path).toBe(202);
    }
    await expectNothingChanged(before);
  });

  it("a subscription Graph still holds after we let it go (its Delete failed at disconnect): Graph's delivery gets 202, nothing changes", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    const leaver = await linkMember(await createDirectoryUser("Gone Tenant User"));
    await emulatorAdmin("faults", { endpoint: "subscriptions", status: 503, times: 10 });
    await adele.page("/settings/integrations/entra");
    await adele.post("/settings/integrations/entra/disconnect");
    await emulatorAdmin("faults", undefined, "DELETE");
    expect(await graphSubscriptions()).toHaveLength(1);
    expect(await storedSubscription()).toBeNull();
    const before = await writableRowCounts();

    await emulatorAdmin(`users/${leaver.subject}/disable`);
    await until(async () => (await sentNotifications()).some((s) => s.kind === "notification"), 10_000);
    const delivered = (await sentNotifications()).filter((s) => s.kind === "notification");
    expect(delivered.map((d) => d.status)).toEqual([202]);
    await expectNothingChanged(before);
    expect((await membership(leaver.userId))?.status).toBe("active");
  });
});

describe("a clientState we cannot open (its key removed too early)", () => {
  it("cannot be judged: the item is acknowledged (202) and reads nothing", async () => {
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    await env.DB.prepare("update realtime_subscriptions set client_state_enc = 'v1.gone.AAAA.AAAA' where organization_id = ?")
      .bind(CONTOSO)
      .run();
    const before = await writableRowCounts();
    expect((await postToWebhook("users", notificationFor(held!.id, held!.clientState))).status).toBe(202);
    await expectNothingChanged(before);
  });
});

describe("forged notifications change nothing", () => {
  // One forged item refuses the whole POST, whatever it is batched with (src/entra/realtime/receive.ts).
  const item = (subscriptionId: string, clientState: string | null) => notificationFor(subscriptionId, clientState).value[0]!;
  const mixedBatches: [string, (held: GraphSubscription) => unknown[]][] = [
    ["an unknown id beside a forged item of our subscription", (held) => [item(crypto.randomUUID(), "guess"), item(held.id, "forged")]],
    ["a genuine item beside a forged one", (held) => [item(held.id, held.clientState), item(held.id, "forged")]],
  ];
  for (const [batch, items] of mixedBatches) {
    it(`${batch}: the whole POST is refused (403), no row written, no run started`, async () => {
      await connectContoso(["auto-deprovision"]);
      const [held] = await graphSubscriptions();
      const before = await writableRowCounts();
      const body = { value: items(held!) };
      expect((await postToWebhook("users", body)).status).toBe(403);
      await expectNothingChanged(before);
    });
  }

  it("the right subscription id with a wrong clientState: 403 and no row written", async () => {
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    const before = await writableRowCounts();
    for (const clientState of ["wrong", held!.clientState!.slice(0, -1) + "x", null, ""]) {
      const response = await postToWebhook("users", notificationFor(held!.id, clientState));
      expect(response.status).toBe(403);
    }
    expect(await writableRowCounts()).toEqual(before);
    expect(await notificationRuns()).toEqual([]);
  });

  it("the right id and clientState for another tenant: 403", async () => {
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    const response = await postToWebhook("users", notificationFor(held!.id, held!.clientState, undefined, crypto.randomUUID()));
    expect(response.status).toBe(403);
    expect(await notificationRuns()).toEqual([]);
  });

  it("malformed bodies: 400, never 5xx", async () => {
    await connectContoso(["auto-deprovision"]);
    for (const body of [
      "not json",
      "{}",
      '{"value":[]}',
      '{"value":[{"subscriptionId":42}]}',
      JSON.stringify({ value: Array(1001).fill({ subscriptionId: "x" }) }),
    ]) {
      const response = await postToWebhook("users", body);
      expect(response.status, body.slice(0, 30)).toBe(400);
    }
    expect(await notificationRuns()).toEqual([]);
  });
});

describe("a genuine notification", () => {
  it("a leaver disabled in Entra: 202, one delta read deactivates them and ends their sessions", async () => {
    await using _ = await withoutBurstWait();
    await connectContoso(["auto-deprovision"]);
    const leaver = await linkMember(await createDirectoryUser("Rita Leaver"));
    await env.DB.prepare(
      "insert into sessions (token_hash, user_id, organization_id, created_at, last_seen_at, expires_at) values ('rita', ?, ?, 1, 1, 9999999999999)",
    )
      .bind(leaver.userId, CONTOSO)
      .run();
    await emulatorAdmin(`users/${leaver.subject}/disable`);
    await until(async () => (await membership(leaver.userId))?.status === "deactivated", 30_000);
    expect(await membership(leaver.userId)).toMatchObject({ deactivated_reason: "directory_sync" });
    const sessions = await env.DB.prepare("select count(*) as n from sessions where user_id = ?")
      .bind(leaver.userId)
      .first<{ n: number }>();
    expect(sessions?.n).toBe(0);
    const delivered = (await sentNotifications()).filter((s) => s.kind === "notification");
    expect(delivered.map((d) => d.status)).toEqual([202]);
    await runsSettled();
    const runs = await notificationRuns();
    expect(runs.length).toBe(1);
    const stored = await storedSubscription();
    expect(stored?.last_notification_run_id).toBe(runs[0]!.id);
    expect(stored?.last_notification_at).toBeGreaterThan(0);
  });

  it("wakes tonight's run while it waits for its start slot: the leaver goes at once, in that run", { timeout: 60_000 }, async () => {
    await connectContoso(["auto-deprovision"]);
    const leaver = await linkMember(await createDirectoryUser("Night Leaver"));
    // 60 eligible organizations sort before Contoso, a second apart: Contoso's slot is a minute away.
    const ahead = JSON.stringify(Array.from({ length: 60 }, (_, i) => `0a000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`));
    await env.DB.batch([
      env.DB.prepare(
        "insert into organizations (id, name, plan, created_at) select value, 'Ahead ' || key, 'enterprise', 1 from json_each(?)",
      ).bind(ahead),
      env.DB.prepare(
        "insert into entra_connections (organization_id, status, auto_deprovision, updated_at) select value, 'connected', 1, 1 from json_each(?)",
      ).bind(ahead),
    ]);
    const at = nextCronTime();
    await fireCron(at);
    const tonight = nightlyRunId(CONTOSO, at);
    expect((await env.DB.prepare("select status from sync_runs where id = ?").bind(tonight).first<{ status: string }>())?.status).toBe(
      "running",
    );

    const disabledAt = Date.now();
    await emulatorAdmin(`users/${leaver.subject}/disable`);
    await until(async () => (await membership(leaver.userId))?.status === "deactivated", 30_000);
    expect(Date.now() - disabledAt).toBeLessThan(30_000);
    // Tonight's run did it (woken, not at its slot), and no second read was started beside it.
    expect(
      (
        await env.DB.prepare("select deactivated_by_run as run from memberships where user_id = ?")
          .bind(leaver.userId)
          .first<{ run: string }>()
      )?.run,
    ).toBe(tonight);
    expect(await notificationRuns()).toEqual([]);
  });

  it("a replayed notification causes at most one more read, and that read changes nothing", { timeout: 30_000 }, async () => {
    await connectContoso(["auto-deprovision"]);
    const leaver = await linkMember(await createDirectoryUser("Sam Replay"));
    await emulatorAdmin(`users/${leaver.subject}/disable`);
    await until(async () => (await membership(leaver.userId))?.status === "deactivated", 30_000);
    await runsSettled();
    const [original] = (await sentNotifications()).filter((s) => s.kind === "notification");
    const before = (await notificationRuns()).length;
    const replayed = await postToWebhook("users", original!.body!);
    expect(replayed.status).toBe(202);
    await until(async () => (await notificationRuns()).length === before + 1, 30_000);
    await runsSettled();
    const runs = await notificationRuns();
    expect(runs.length).toBe(before + 1);
    expect(runs.at(-1)).toMatchObject({ status: "succeeded", mode: "delta", deactivated: 0 });
  });

  it("a burst coalesces into one read: the run waits for the rest of the burst before it reads", async () => {
    await connectContoso(["auto-deprovision"]);
    // Enough linked members that ten leavers stay under the hold threshold.
    const people = [];
    for (let i = 0; i < 12; i++) people.push(await linkMember(await createDirectoryUser(`Burst ${i}`)));
    await env.DB.prepare(
      "update entra_connections set hold_threshold_percent = 100, hold_threshold_minimum = 1000 where organization_id = ?",
    )
      .bind(CONTOSO)
      .run();
    await emulatorAdmin("stats/reset");
    const leavers = people.slice(0, 10);
    await Promise.all(leavers.map((p) => emulatorAdmin(`users/${p.subject}/disable`)));
    await until(async () => {
      for (const p of leavers) if ((await membership(p.userId))?.status !== "deactivated") return false;
      return true;
    }, 60_000);
    await runsSettled();
    const delivered = (await sentNotifications()).filter((s) => s.kind === "notification");
    expect(delivered.length).toBe(10);
    const runs = await notificationRuns();
    expect(runs.length).toBe(1);
    // The ten, and Diego (disabled in the demo directory): the first read lists everyone.
    expect(runs.reduce((sum, r) => sum + r.deactivated, 0)).toBe(11);
    expect((await membership(people[10]!.userId))?.status).toBe("active");
  });

  it("follows every nightly rule: a hand-deactivated member and the last Owner are never touched", async () => {
    await using _ = await withoutBurstWait();
    await connectContoso(["auto-deprovision"]);
    const hand = await linkMember(await createDirectoryUser("Hand Off"));
    await env.DB.prepare(
      "update memberships set status = 'deactivated', deactivated_reason = 'by_hand', deactivated_at = 1 where user_id = ?",
    )
      .bind(hand.userId)
      .run();
    // Adele is the last Owner: disabled in Entra, she stays.
    const { entraUser } = await import("../../demo/directory.ts");
    await emulatorAdmin(`users/${entraUser("adele").oid}/disable`);
    await emulatorAdmin(`users/${hand.subject}/enable`);
    await until(async () => (await notificationRuns()).length > 0, 30_000);
    await runsSettled();
    expect((await membership((await import("../sync/support.ts")).DEMO_USER_IDS.adele))?.status).toBe("active");
    expect(await membership(hand.userId)).toMatchObject({ status: "deactivated", deactivated_reason: "by_hand" });
  });
});

describe("notifications for an organization that turned it off", () => {
  it("after disconnect, the old subscription's notifications are acknowledged (202) and read nothing", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    await adele.page("/settings/integrations/entra");
    await adele.post("/settings/integrations/entra/disconnect");
    const before = await writableRowCounts();
    const response = await postToWebhook("users", notificationFor(held!.id, held!.clientState, undefined, CONTOSO_TENANT_ID));
    expect(response.status).toBe(202);
    await expectNothingChanged(before);
  });

  it("after a downgrade, before the nightly upkeep deletes the subscription: a genuine item is acknowledged (202), a forged one refused", async () => {
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    await env.DB.prepare("update organizations set plan = 'team' where id = ?").bind(CONTOSO).run();
    const before = await writableRowCounts();
    expect((await postToWebhook("users", notificationFor(held!.id, held!.clientState))).status).toBe(202);
    expect((await postToWebhook("users", notificationFor(held!.id, "forged"))).status).toBe(403);
    await expectNothingChanged(before);
  });
});
