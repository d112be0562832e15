// The subscription's life: created when Auto-deprovision sync is turned on, deleted when it is
// turned off or Entra ID is disconnected, renewed by the nightly upkeep, and Microsoft's lifecycle
// notifications handled. A subscription that cannot be created shows on the page; the nightly
// sync runs regardless.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { ENTRA_PAGE, connectContoso, setFeature } from "../support/entra.ts";
import { emulatorAdmin, emulatorStats, createDirectoryUser } from "../support/emulator.ts";
import { linkMember } from "../support/people.ts";
import { CONTOSO, DEMO_USER_IDS, SYNC, fireCron, membership, nextCronTime, nightlyRun, until } from "../sync/support.ts";
import {
  graphSubscriptions,
  notificationRuns,
  postToWebhook,
  realtimeWorld,
  runsSettled,
  storedSubscription,
  withoutBurstWait,
} from "./support.ts";

beforeEach(realtimeWorld);

const DAY = 24 * 60 * 60 * 1000;

describe("creating and deleting the subscription", () => {
  it("turning Auto-deprovision sync on creates one subscription on users, updated,deleted, with a sealed clientState", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    const held = await graphSubscriptions();
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({
      resource: "users",
      changeType: "updated,deleted",
      notificationUrl: "http://localhost:8787/realtime/microsoft-graph/users",
      lifecycleNotificationUrl: "http://localhost:8787/realtime/microsoft-graph/lifecycle",
    });
    const stored = await storedSubscription();
    expect(stored).toMatchObject({ status: "active", subscription_id: held[0]!.id, failure: null });
    expect(stored?.client_state_enc).toMatch(/^v1\./);
    expect(stored?.client_state_enc).not.toContain(held[0]!.clientState!);
    // Under the documented maximum for users (41,760 minutes), and close to it.
    const lifetime = Date.parse(held[0]!.expirationDateTime) - Date.now();
    expect(lifetime).toBeLessThanOrEqual(41_760 * 60_000);
    expect(lifetime).toBeGreaterThan(28 * DAY);
    const html = await (await adele.get(SYNC, { "hx-request": "true" })).text();
    expect(html).toContain("Real-time updates: <strong>active</strong> (renews on ");
    expect(html).toContain("Last notification received: none yet");
  });

  it("turning it off deletes the subscription at Graph and here", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    expect(await graphSubscriptions()).toHaveLength(1);
    await setFeature(adele, "auto-deprovision", false);
    expect(await graphSubscriptions()).toEqual([]);
    expect(await storedSubscription()).toBeNull();
    await setFeature(adele, "auto-deprovision", true);
    expect(await graphSubscriptions()).toHaveLength(1);
  });

  it("disconnecting deletes the subscription", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    expect(await graphSubscriptions()).toHaveLength(1);
    await adele.page(ENTRA_PAGE);
    const response = await adele.post(`${ENTRA_PAGE}/disconnect`);
    expect(response.status).toBe(303);
    expect(await graphSubscriptions()).toEqual([]);
    expect(await storedSubscription()).toBeNull();
  });

  it("a plan downgrade: the nightly upkeep deletes the subscription", async () => {
    await connectContoso(["auto-deprovision"]);
    await env.DB.prepare("update organizations set plan = 'team' where id = ?").bind(CONTOSO).run();
    const night = await fireCron(nextCronTime());
    expect(night.realtime.removed).toBe(1);
    expect(await graphSubscriptions()).toEqual([]);
    expect(await storedSubscription()).toBeNull();
  });

  it("a subscription that cannot be created: the page says why, and the nightly sync still runs", async () => {
    await emulatorAdmin("faults", { endpoint: "subscriptions", status: 403 });
    const adele = await connectContoso(["auto-deprovision"]);
    expect(await graphSubscriptions()).toEqual([]);
    expect(await storedSubscription()).toMatchObject({ status: "failed", failure: "forbidden", subscription_id: null });
    const html = await (await adele.get(SYNC, { "hx-request": "true" })).text();
    expect(html).toContain("Real-time updates: <strong>not active</strong>");
    expect(html).toContain("Microsoft Graph refused: the User.Read.All permission is missing.");
    expect(html).toContain("The nightly sync still runs");
    const run = await nightlyRun();
    expect(run).toMatchObject({ status: "succeeded", deactivated: 1 });
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("deactivated");
    // …and the night's upkeep created it this time.
    expect(await graphSubscriptions()).toHaveLength(1);
    expect(await storedSubscription()).toMatchObject({ status: "active", failure: null });
  });

  it("validation that fails (the app unreachable) is reported as such", async () => {
    await emulatorAdmin("faults", {
      endpoint: "subscriptions",
      status: 400,
      body: { error: { code: "ValidationError", message: "Subscription validation request failed." } },
    });
    await connectContoso(["auto-deprovision"]);
    expect(await storedSubscription()).toMatchObject({ status: "failed", failure: "validation_failed" });
  });
});

describe("renewal", () => {
  it("the nightly upkeep renews a subscription that expires within three days, to the maximum again", async () => {
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    const soon = Date.now() + 2 * DAY;
    await env.DB.prepare("update realtime_subscriptions set expires_at = ? where organization_id = ?").bind(soon, CONTOSO).run();
    await emulatorAdmin("stats/reset");
    const night = await fireCron(nextCronTime());
    expect(night.realtime).toMatchObject({ renewed: 1, created: 0, failed: 0 });
    const [renewed] = await graphSubscriptions();
    expect(renewed!.id).toBe(held!.id);
    expect((await storedSubscription())!.expires_at).toBeGreaterThan(Date.now() + 28 * DAY);
    expect((await emulatorStats()).requests.subscriptions).toBe(1);
  });

  it("one not due is left alone", async () => {
    await connectContoso(["auto-deprovision"]);
    await emulatorAdmin("stats/reset");
    const night = await fireCron(nextCronTime());
    expect(night.realtime).toMatchObject({ renewed: 0, created: 0, removed: 0 });
    expect((await emulatorStats()).requests.subscriptions ?? 0).toBe(0);
  });

  it("one Graph no longer has (404) is created anew", async () => {
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    await env.DB.prepare("update realtime_subscriptions set expires_at = ? where organization_id = ?")
      .bind(Date.now() + DAY, CONTOSO)
      .run();
    // The renewal's PATCH answers 404, as Graph does for a subscription it no longer has.
    await emulatorAdmin("faults", { endpoint: "subscriptions", status: 404 });
    const night = await fireCron(nextCronTime());
    expect(night.realtime).toMatchObject({ renewed: 1, failed: 0 });
    const now = await graphSubscriptions();
    expect(now).toHaveLength(1);
    expect(now[0]!.id).not.toBe(held!.id);
    expect(await storedSubscription()).toMatchObject({ status: "active", subscription_id: now[0]!.id });
  });
});

describe("lifecycle notifications", () => {
  it("reauthorizationRequired: the subscription is renewed", async () => {
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    await env.DB.prepare("update realtime_subscriptions set expires_at = ? where organization_id = ?")
      .bind(Date.now() + DAY, CONTOSO)
      .run();
    const sent = await emulatorAdmin<{ status: number }>(`subscriptions/${held!.id}/lifecycle`, { event: "reauthorizationRequired" });
    expect(sent.status).toBe(202);
    await until(async () => ((await storedSubscription())?.expires_at ?? 0) > Date.now() + 28 * DAY);
    expect((await graphSubscriptions())[0]!.id).toBe(held!.id);
  });

  it("a collection repeating reauthorizationRequired renews once", async () => {
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    await env.DB.prepare("update realtime_subscriptions set expires_at = ? where organization_id = ?")
      .bind(Date.now() + DAY, CONTOSO)
      .run();
    await emulatorAdmin("stats/reset");
    const item = { subscriptionId: held!.id, clientState: held!.clientState, lifecycleEvent: "reauthorizationRequired", resource: "users" };
    expect((await postToWebhook("lifecycle", { value: Array.from({ length: 5 }, () => item) })).status).toBe(202);
    await until(async () => ((await storedSubscription())?.expires_at ?? 0) > Date.now() + 28 * DAY);
    const stats = await emulatorStats();
    expect(
      Object.entries(stats.requests)
        .filter(([endpoint]) => /subscriptions/i.test(endpoint))
        .reduce((n, [, count]) => n + count, 0),
    ).toBe(1);
  });

  it("subscriptionRemoved: a new subscription is created and the delta is read", async () => {
    await using _ = await withoutBurstWait();
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    const sent = await emulatorAdmin<{ status: number }>(`subscriptions/${held!.id}/lifecycle`, { event: "subscriptionRemoved" });
    expect(sent.status).toBe(202);
    await until(async () => (await storedSubscription())?.subscription_id !== held!.id && (await notificationRuns()).length === 1);
    const now = await graphSubscriptions();
    expect(now).toHaveLength(1);
    expect((await storedSubscription())?.subscription_id).toBe(now[0]!.id);
    await runsSettled();
  });

  it("missed: a delta read runs, and deactivates a leaver whose notification was dropped", async () => {
    await using _ = await withoutBurstWait();
    await connectContoso(["auto-deprovision"]);
    const leaver = await linkMember(await createDirectoryUser("Milo Missed"));
    await emulatorAdmin("notifications", { drop: 1 });
    await emulatorAdmin(`users/${leaver.subject}/disable`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await membership(leaver.userId))?.status).toBe("active");
    const [held] = await graphSubscriptions();
    const sent = await emulatorAdmin<{ status: number }>(`subscriptions/${held!.id}/lifecycle`, { event: "missed" });
    expect(sent.status).toBe(202);
    await until(async () => (await membership(leaver.userId))?.status === "deactivated");
    await runsSettled();
  });

  it("a lifecycle notification with a wrong clientState is refused and does nothing", async () => {
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    const response = await postToWebhook("lifecycle", {
      value: [{ subscriptionId: held!.id, clientState: "nope", lifecycleEvent: "missed" }],
    });
    expect(response.status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await notificationRuns()).toEqual([]);
  });
});
