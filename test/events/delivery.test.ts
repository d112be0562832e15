// Delivery: the outbox is written with the change or not at all; deliveries are signed (checked by
// the `standardwebhooks` package), retried with exponential backoff for 24 h, never follow
// redirects, keep only an excerpt, disable an endpoint that keeps failing, sign with both secrets
// for a day after a rotation, and can be redelivered. The consumer is called as the queue calls
// it (createMessageBatch); end to end, the app's own queue delivers to the emulator's receiver.
import { SELF, createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import type { Viewer } from "../../src/context.ts";
import { pruneBatch } from "../../src/nightly/pruning.ts";
import { sql } from "drizzle-orm";
import { createDb } from "../../src/db/client.ts";
import { deactivateStatements } from "../../src/db/members.ts";
import type { WebhookEventType } from "../../src/db/schema.ts";
import { runStatements } from "../../src/db/statements.ts";
import { RELAY_CLAIM_LEASE_MS, type DeliveryMessage } from "../../src/db/webhooks.ts";
import type { Env } from "../../src/env.ts";
import { tokenVault } from "../../src/lib/vault.ts";
import { insertEventsFor, MEMBER_OF_U } from "../../src/db/outbox.ts";
import { addEndpoint as addEndpointAsService, rotateSecret } from "../../src/events/endpoints.ts";
import type { DeliveryQueue } from "../../src/events/queue.ts";
import { relayPendingEvents } from "../../src/events/relay.ts";
import { DEMO_ORGS, DEMO_USER_IDS } from "../../demo/seed.ts";
import { APP } from "../support/browser.ts";
import { resetDemoWorld } from "../support/world.ts";
import { signedIn } from "../support/people.ts";
import {
  CONTOSO,
  WEBHOOKS,
  addEndpoint,
  endpointRow,
  forgetReceiver,
  ofType,
  outboxCount,
  postForm,
  received,
  receivedWhere,
  receiverAnswers,
  receiverUrl,
  verified,
} from "./support.ts";

const db = () => createDb(env.DB);
const vault = () => tokenVault(env);
const DAY = 24 * 60 * 60 * 1000;

const ADELE: Viewer = {
  userId: DEMO_USER_IDS.adele,
  displayName: "Adele Vance",
  email: "adele@contoso.example",
  organizationId: CONTOSO,
  organizationName: "Contoso",
  plan: "enterprise",
  role: "owner",
  organizations: [],
  sessionHash: "test",
  csrfToken: "test",
};

beforeEach(async () => {
  await resetDemoWorld();
  for (const name of ["hooks", "elsewhere"]) await forgetReceiver(name);
});

/** An endpoint added through the service, so no request relays anything behind the test's back. */
async function endpointFor(types: WebhookEventType[], name = "hooks") {
  const added = await addEndpointAsService(
    db(),
    vault(),
    ADELE,
    { url: receiverUrl(name), eventTypes: types, appOrigin: env.APP_ORIGIN, formToken: crypto.randomUUID() },
    Date.now(),
  );
  if (!added.added) throw new Error("a fresh form token added nothing");
  return added;
}

/** Diego deactivated by hand, the way members.ts writes it: the membership, its audit row and its event in one batch. */
function deactivateDiegoWrites(now = Date.now()) {
  return deactivateStatements(db(), {
    organizationId: CONTOSO,
    userId: DEMO_USER_IDS.diego,
    reason: "by_hand",
    actorUserId: DEMO_USER_IDS.adele,
    now,
  });
}

/** Diego active again without a trace (no audit row, no event), so the next deactivation is a change. */
async function diegoActiveAgain() {
  await env.DB.prepare("update memberships set status = 'active', deactivated_reason = null, deactivated_at = null where user_id = ?")
    .bind(DEMO_USER_IDS.diego)
    .run();
}

async function onlyEventId(): Promise<string> {
  const rows = await env.DB.prepare("select id from webhook_events").all<{ id: string }>();
  expect(rows.results).toHaveLength(1);
  return rows.results[0]!.id;
}

/**
 * Hands one message to the Worker's queue() handler, as Cloudflare Queues would. getQueueResult
 * does not report a retry's delay, so the message's retry() is observed on its way to the runtime.
 */
async function consume(body: DeliveryMessage, attempts = 1) {
  const batch = createMessageBatch<DeliveryMessage>("uniasset-webhook-deliveries", [
    { id: "message-1", timestamp: new Date(), attempts, body },
  ]);
  const delays: (number | undefined)[] = [];
  const message = batch.messages[0]!;
  const retry = message.retry.bind(message);
  Object.defineProperty(message, "retry", {
    value: (options?: QueueRetryOptions) => {
      delays.push(options?.delaySeconds);
      retry(options);
    },
  });
  const ctx = createExecutionContext();
  await worker.queue(batch, env as unknown as Env);
  return { ...(await getQueueResult(batch, ctx)), delays };
}

const attempts = async (endpointId: string) =>
  (await env.DB.prepare("select * from webhook_attempts where endpoint_id = ? order by id").bind(endpointId).all<Record<string, unknown>>())
    .results;

describe("the outbox", () => {
  it("is written in the change's own batch: a batch that fails leaves no event and sends nothing", async () => {
    await endpointFor(["member.deactivated"]);
    const failing = env.DB.prepare("insert into organizations (id, name, plan, created_at) values (null, null, 'enterprise', 0)");
    await expect(runStatements(db(), [...deactivateDiegoWrites(), failing])).rejects.toThrow();
    expect(await outboxCount()).toBe(0);
    expect((await env.DB.prepare("select status from memberships where user_id = ?").bind(DEMO_USER_IDS.diego).first())?.status).toBe(
      "active",
    );

    await runStatements(db(), deactivateDiegoWrites());
    expect(await outboxCount("member.deactivated")).toBe(1);
    expect(await received("hooks")).toEqual([]);
  });

  it("costs an organization nothing without a subscribed, enabled endpoint", async () => {
    const deactivated = async () =>
      (await env.DB.prepare("select count(*) as n from audit_events where action = 'member.deactivated'").first<{ n: number }>())!.n;
    await runStatements(db(), deactivateDiegoWrites());
    expect(await outboxCount()).toBe(0);

    const { endpointId } = await endpointFor(["member.reactivated"]);
    await diegoActiveAgain();
    await runStatements(db(), deactivateDiegoWrites());
    expect(await outboxCount()).toBe(0);

    await env.DB.prepare("update webhook_endpoints set event_types = ' member.deactivated ', enabled = 0 where id = ?")
      .bind(endpointId)
      .run();
    await diegoActiveAgain();
    await runStatements(db(), deactivateDiegoWrites());
    expect(await outboxCount()).toBe(0);
    // Each of the three was a change (audited): only the gate kept its event out.
    expect(await deactivated()).toBe(3);
  });

  it("end to end: Adele deactivates Diego by hand and the receiver gets a signed member.deactivated", async () => {
    const adele = await signedIn("adele");
    const { secret } = await addEndpoint(adele, receiverUrl("hooks"), ["member.deactivated"]);
    await adele.page("/users");
    expect((await postForm(adele, `/users/${DEMO_USER_IDS.diego}/deactivate`, [])).status).toBeLessThan(400);

    const request = await receivedWhere("hooks", ofType("member.deactivated"));
    const event = verified(request, secret);
    expect(event.data).toMatchObject({
      organization_id: CONTOSO,
      cause: "by_hand",
      run_id: null,
      actor_user_id: DEMO_USER_IDS.adele,
      member: { user_id: DEMO_USER_IDS.diego, email: "diego@contoso.example" },
    });
    expect(request.headers["webhook-id"]).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(() => new Webhook(`whsec_${btoa("x".repeat(32))}`).verify(request.body, request.headers)).toThrow();
    expect((await env.DB.prepare("select relayed_at from webhook_events").first())?.relayed_at).not.toBeNull();
  });
});

describe("the relay", () => {
  /** Five member.deactivated events about Diego, raised as the catalogue raises every event. */
  async function fiveEvents() {
    const now = Date.now();
    await runStatements(
      db(),
      Array.from({ length: 5 }, (_, i) =>
        insertEventsFor(
          "member.deactivated",
          {
            organizationId: CONTOSO,
            now: now + i,
            data: {
              organization_id: CONTOSO,
              member: MEMBER_OF_U,
              cause: "by_hand",
              directory_reason: null,
              run_id: null,
              actor_user_id: DEMO_USER_IDS.adele,
            },
          },
          { from: sql`users u`, where: sql`u.id = ${DEMO_USER_IDS.diego}` },
        ),
      ),
    );
    expect(await outboxCount("member.deactivated")).toBe(5);
  }
  const queue = () => env.WEBHOOK_DELIVERIES as DeliveryQueue;
  const pending = async () =>
    (await env.DB.prepare("select count(*) as n from webhook_events where relayed_at is null").first<{ n: number }>())!.n;

  it("sends each event once when two relays start at once", { timeout: 40_000 }, async () => {
    await endpointFor(["member.deactivated"]);
    await fiveEvents();
    const [first, second] = await Promise.all([
      relayPendingEvents(db(), queue(), Date.now()),
      relayPendingEvents(db(), queue(), Date.now()),
    ]);
    expect(first.messages + second.messages).toBe(5);
    expect(first.events + second.events).toBe(5);
    expect(await pending()).toBe(0);

    const deadline = Date.now() + 30_000;
    while ((await received("hooks")).length < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 1000)); // room for a duplicate to arrive
    const ids = (await received("hooks")).map((r) => r.headers["webhook-id"]);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
  });

  it("releases the events it could not queue, for the next relay; a crashed relay's claim lapses", async () => {
    await endpointFor(["member.deactivated"]);
    await fiveEvents();
    const broken = {
      send: async () => undefined,
      sendBatch: async () => {
        throw new Error("queue unavailable");
      },
    } as unknown as DeliveryQueue;
    await expect(relayPendingEvents(db(), broken, Date.now())).rejects.toThrow("queue unavailable");
    expect(await pending()).toBe(5);
    expect((await env.DB.prepare("select count(*) as n from webhook_events where claimed_at is not null").first<{ n: number }>())!.n).toBe(
      0,
    );

    // Two rows claimed by a relay still at work are left to it; two claimed by one that died long ago are taken over.
    const now = Date.now();
    await env.DB.prepare("update webhook_events set claimed_at = ? where seq in (select seq from webhook_events order by seq limit 2)")
      .bind(now - 1000)
      .run();
    await env.DB.prepare("update webhook_events set claimed_at = ? where seq in (select seq from webhook_events order by seq desc limit 2)")
      .bind(now - RELAY_CLAIM_LEASE_MS - 1)
      .run();
    expect((await relayPendingEvents(db(), queue(), now)).events).toBe(3);
    expect(await pending()).toBe(2);
    expect((await relayPendingEvents(db(), queue(), now + RELAY_CLAIM_LEASE_MS + 1)).events).toBe(2);
    expect(await pending()).toBe(0);
  });
});

describe("a slow endpoint", () => {
  it("holds up nobody: a batch's deliveries go out together, and an answer is awaited 5 s at most", { timeout: 30_000 }, async () => {
    const slow = await endpointFor(["member.deactivated"], "hooks");
    const fast = await endpointFor(["member.deactivated"], "elsewhere");
    await runStatements(db(), deactivateDiegoWrites());
    const eventId = await onlyEventId();
    await receiverAnswers("hooks", { status: 204, delayMs: 8000 });

    const batch = createMessageBatch<DeliveryMessage>("uniasset-webhook-deliveries", [
      { id: "slow", timestamp: new Date(), attempts: 1, body: { eventId, endpointId: slow.endpointId, queuedAt: Date.now() } },
      { id: "fast", timestamp: new Date(), attempts: 1, body: { eventId, endpointId: fast.endpointId, queuedAt: Date.now() } },
    ]);
    const started = Date.now();
    const ctx = createExecutionContext();
    await worker.queue(batch, env as unknown as Env);
    const result = await getQueueResult(batch, ctx);
    expect(Date.now() - started).toBeLessThan(7000);
    expect(result.explicitAcks).toEqual(["fast"]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["slow"]);

    // The fast endpoint was not made to wait for the slow one's answer.
    const [slowRequest] = await received("hooks");
    const [fastRequest] = await received("elsewhere");
    expect(fastRequest!.receivedAt - slowRequest!.receivedAt).toBeLessThan(2000);
    expect(await attempts(fast.endpointId)).toMatchObject([{ outcome: "delivered" }]);
    const [timedOut] = await attempts(slow.endpointId);
    expect(timedOut).toMatchObject({ outcome: "retrying", status_code: null, error: "No answer within 5 s." });
    expect(Number(timedOut!.duration_ms)).toBeLessThan(6500);
  });
});

describe("pruning", () => {
  it("deletes events sent more than 30 days ago, never a pending one", async () => {
    await endpointFor(["member.deactivated"]);
    const old = Date.now() - 31 * DAY;
    await runStatements(db(), deactivateDiegoWrites(old));
    await env.DB.prepare("update memberships set status = 'active', deactivated_reason = null, deactivated_at = null where user_id = ?")
      .bind(DEMO_USER_IDS.diego)
      .run();
    await runStatements(db(), deactivateDiegoWrites(old));
    await env.DB.prepare("update webhook_events set relayed_at = ? where seq = (select min(seq) from webhook_events)").bind(old).run();
    expect(await pruneBatch(db(), "webhook_events", Date.now(), { auditDays: 400 })).toBe(1);
    expect(await env.DB.prepare("select relayed_at from webhook_events").all()).toMatchObject({ results: [{ relayed_at: null }] });
  });
});

describe("retries", () => {
  it("retry a failed attempt with exponential backoff, logging each, and give up 24 h after it was queued", async () => {
    const { endpointId } = await endpointFor(["member.deactivated"]);
    await runStatements(db(), deactivateDiegoWrites());
    const eventId = await onlyEventId();
    await receiverAnswers("hooks", { status: 500, body: "x".repeat(5000) });

    const queuedAt = Date.now();
    const delays = [];
    for (const attempt of [1, 2, 3, 14]) {
      const result = await consume({ eventId, endpointId, queuedAt }, attempt);
      expect(result.retryMessages).toHaveLength(1);
      delays.push(result.delays[0]);
    }
    expect(delays).toEqual([5, 10, 20, 40_960]);
    // Attempt 15 comes about 22.75 h after the first: its backoff (12 h) is cut to what is left of the day.
    const late = await consume({ eventId, endpointId, queuedAt: Date.now() - (22 * 60 + 45) * 60 * 1000 }, 15);
    expect(late.retryMessages).toHaveLength(1);
    expect(late.delays[0]).toBeGreaterThan(75 * 60 - 30);
    expect(late.delays[0]).toBeLessThanOrEqual(75 * 60);
    const log = await attempts(endpointId);
    expect(log.map((a) => [a.outcome, a.status_code, a.attempt])).toEqual([
      ["retrying", 500, 1],
      ["retrying", 500, 2],
      ["retrying", 500, 3],
      ["retrying", 500, 14],
      ["retrying", 500, 15],
    ]);
    expect(String(log[0]!.response_excerpt).length).toBe(200);

    const last = await consume({ eventId, endpointId, queuedAt: queuedAt - DAY }, 16);
    expect(last.retryMessages).toEqual([]);
    expect(last.explicitAcks).toEqual(["message-1"]);
    expect((await attempts(endpointId)).at(-1)).toMatchObject({ outcome: "failed", status_code: 500 });
    // Each attempt carried the same webhook-id, for the receiver to de-duplicate.
    expect(new Set((await received("hooks")).map((r) => r.headers["webhook-id"]))).toEqual(new Set([eventId]));
  });

  it("never follow a redirect: the attempt fails and the target never hears of the event", async () => {
    const { endpointId } = await endpointFor(["member.deactivated"]);
    await runStatements(db(), deactivateDiegoWrites());
    await receiverAnswers("hooks", { status: 307, location: receiverUrl("elsewhere") });
    const result = await consume({ eventId: await onlyEventId(), endpointId, queuedAt: Date.now() });
    expect(result.retryMessages).toHaveLength(1);
    expect((await attempts(endpointId))[0]).toMatchObject({ outcome: "retrying", status_code: 307 });
    expect(String((await attempts(endpointId))[0]!.error)).toContain("redirect");
    expect(await received("elsewhere")).toEqual([]);
  });

  it("disable an endpoint that failed every attempt for a day, with a banner on Settings → Webhooks", async () => {
    const { endpointId } = await endpointFor(["member.deactivated"]);
    await runStatements(db(), deactivateDiegoWrites());
    const eventId = await onlyEventId();
    await receiverAnswers("hooks", { status: 503 });

    // Failing for a day, but only 8 failures: not yet.
    await env.DB.prepare("update webhook_endpoints set failing_since = ?, consecutive_failures = 8 where id = ?")
      .bind(Date.now() - DAY - 1000, endpointId)
      .run();
    await consume({ eventId, endpointId, queuedAt: Date.now() });
    expect(await endpointRow(endpointId)).toMatchObject({ enabled: 1, consecutive_failures: 9 });
    // The tenth failure in a row, a day after the first: disabled, audited.
    await consume({ eventId, endpointId, queuedAt: Date.now() }, 2);
    expect(await endpointRow(endpointId)).toMatchObject({ enabled: 0, disabled_reason: "failing" });
    const audit = await env.DB.prepare("select details from audit_events where action = 'webhook.endpoint_disabled_failing'").all<{
      details: string;
    }>();
    expect(audit.results).toHaveLength(1);

    // Nothing more is sent to it; the retry is dropped.
    const before = (await received("hooks")).length;
    const after = await consume({ eventId, endpointId, queuedAt: Date.now() }, 3);
    expect(after.explicitAcks).toEqual(["message-1"]);
    expect((await received("hooks")).length).toBe(before);

    const adele = await signedIn("adele");
    const { html } = await adele.page(WEBHOOKS);
    expect(html).toContain("Endpoint disabled.");
    expect(html).toContain("failed for 24 hours");
    // Enable starts a fresh streak (a delivered attempt ends one too: "end the failure streak with a success").
    await postForm(adele, `${WEBHOOKS}/${endpointId}/enable`, []);
    expect(await endpointRow(endpointId)).toMatchObject({ enabled: 1, failing_since: null, consecutive_failures: 0 });
    expect((await adele.page(WEBHOOKS)).html).not.toContain("Endpoint disabled.");
  });

  it("end the failure streak with a success", async () => {
    const { endpointId } = await endpointFor(["member.deactivated"]);
    await runStatements(db(), deactivateDiegoWrites());
    const eventId = await onlyEventId();
    await receiverAnswers("hooks", { status: 503 });
    await consume({ eventId, endpointId, queuedAt: Date.now() });
    await consume({ eventId, endpointId, queuedAt: Date.now() }, 2);
    expect(await endpointRow(endpointId)).toMatchObject({ enabled: 1, consecutive_failures: 2 });
    expect((await endpointRow(endpointId))!.failing_since).not.toBeNull();

    await receiverAnswers("hooks", { status: 200 });
    const result = await consume({ eventId, endpointId, queuedAt: Date.now() }, 3);
    expect(result.explicitAcks).toEqual(["message-1"]);
    expect(await endpointRow(endpointId)).toMatchObject({ enabled: 1, failing_since: null, consecutive_failures: 0 });
    expect((await attempts(endpointId)).map((a) => a.outcome)).toEqual(["retrying", "retrying", "delivered"]);
  });

  it("keep the last 100 attempts of an endpoint", async () => {
    const { endpointId } = await endpointFor(["member.deactivated"]);
    await runStatements(db(), deactivateDiegoWrites());
    const eventId = await onlyEventId();
    await env.DB.prepare(`
      with recursive n(i) as (select 1 union all select i + 1 from n where i < 104)
      insert into webhook_attempts (endpoint_id, organization_id, event_id, event_type, attempt, attempted_at, duration_ms, outcome)
      select ?, ?, ?, 'member.deactivated', i, i, 1, 'retrying' from n`)
      .bind(endpointId, CONTOSO, eventId)
      .run();
    await consume({ eventId, endpointId, queuedAt: Date.now() });
    const log = await attempts(endpointId);
    expect(log).toHaveLength(100);
    expect(log.at(-1)).toMatchObject({ outcome: "delivered", status_code: 204 });
  });
});

describe("secret rotation", () => {
  it("signs with the old and the new secret for 24 h, then with the new one alone", async () => {
    const { endpointId, secret: old } = await endpointFor(["member.deactivated"]);
    await runStatements(db(), deactivateDiegoWrites());
    const eventId = await onlyEventId();
    const fresh = await rotateSecret(db(), vault(), ADELE, endpointId, Date.now());
    expect(fresh).not.toBe(old);

    await consume({ eventId, endpointId, queuedAt: Date.now() });
    const [during] = await received("hooks");
    expect(during!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(verified(during!, old).type).toBe("member.deactivated");
    expect(verified(during!, fresh).type).toBe("member.deactivated");

    await env.DB.prepare("update webhook_endpoints set previous_secret_expires_at = ? where id = ?")
      .bind(Date.now() - 1, endpointId)
      .run();
    await consume({ eventId, endpointId, queuedAt: Date.now() });
    const after = (await received("hooks"))[1]!;
    expect(after.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(verified(after, fresh).type).toBe("member.deactivated");
    expect(() => verified(after, old)).toThrow();
  });

  it("shows the new secret once on Rotate secret", async () => {
    const adele = await signedIn("adele");
    const { id, secret } = await addEndpoint(adele, receiverUrl("hooks"), ["member.deactivated"]);
    await adele.page(`${WEBHOOKS}/${id}`);
    const html = await (await postForm(adele, `${WEBHOOKS}/${id}/rotate`, [])).text();
    const fresh = /id="signing-secret"[^>]*value="(whsec_[^"]+)"/.exec(html)?.[1];
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(secret);
    expect((await adele.page(`${WEBHOOKS}/${id}`)).html).not.toContain(fresh!.slice(6));
  });
});

describe("Redeliver and Send test event", () => {
  it("redeliver a failed event with the same webhook-id once the receiver is back", async () => {
    const adele = await signedIn("adele");
    const { id, secret } = await addEndpoint(adele, receiverUrl("hooks"), ["member.deactivated"]);
    await runStatements(db(), deactivateDiegoWrites());
    const eventId = await onlyEventId();
    await receiverAnswers("hooks", { status: 500 });
    await consume({ eventId, endpointId: id, queuedAt: Date.now() - DAY }); // given up: failed
    const { html } = await adele.page(`${WEBHOOKS}/${id}`);
    expect(html).toContain("Redeliver");

    await receiverAnswers("hooks", { status: 204 });
    await forgetReceiver("hooks");
    expect((await postForm(adele, `${WEBHOOKS}/${id}/redeliver`, [["eventId", eventId]])).status).toBe(303);
    const again = await receivedWhere("hooks", ofType("member.deactivated"));
    expect(again.headers["webhook-id"]).toBe(eventId);
    expect(verified(again, secret).data).toMatchObject({ member: { user_id: DEMO_USER_IDS.diego } });

    expect((await postForm(adele, `${WEBHOOKS}/${id}/redeliver`, [["eventId", "msg_" + "0".repeat(32)]])).status).toBe(404);
    expect((await postForm(adele, `${WEBHOOKS}/${id}/redeliver`, [["eventId", "<script>"]])).status).toBe(400);
  });

  it("redeliver only an event the endpoint subscribes to, or its own test event", async () => {
    const adele = await signedIn("adele");
    const deactivations = await addEndpoint(adele, receiverUrl("hooks"), ["member.deactivated"]);
    const reactivations = await addEndpoint(adele, receiverUrl("elsewhere"), ["member.reactivated"]);
    await runStatements(db(), deactivateDiegoWrites());
    const eventId = await onlyEventId();
    await adele.page(`${WEBHOOKS}/${reactivations.id}`);
    const refused = await postForm(adele, `${WEBHOOKS}/${reactivations.id}/redeliver`, [["eventId", eventId]]);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("This endpoint does not subscribe to member.deactivated events.");

    // The first endpoint's test event is its own: the other endpoint may not be sent it.
    expect((await postForm(adele, `${WEBHOOKS}/${deactivations.id}/test`, [])).status).toBe(303);
    const testEventId = (await receivedWhere("hooks", ofType("webhook.test"))).headers["webhook-id"]!;
    const foreignTest = await postForm(adele, `${WEBHOOKS}/${reactivations.id}/redeliver`, [["eventId", testEventId]]);
    expect(foreignTest.status).toBe(400);
    expect(await foreignTest.text()).toContain("That test event was sent to another endpoint.");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await received("elsewhere")).toEqual([]);

    // The subscribed endpoint may have both (once its 10 s since Send test event have passed).
    await env.DB.prepare("delete from webhook_manual_sends").run();
    await forgetReceiver("hooks");
    expect((await postForm(adele, `${WEBHOOKS}/${deactivations.id}/redeliver`, [["eventId", testEventId]])).status).toBe(303);
    expect((await receivedWhere("hooks", ofType("webhook.test"))).headers["webhook-id"]).toBe(testEventId);
  });

  it("refuse another organization's admin (404), redelivering nothing", async () => {
    const adele = await signedIn("adele");
    const { id } = await addEndpoint(adele, receiverUrl("hooks"), ["member.deactivated"]);
    await runStatements(db(), deactivateDiegoWrites());
    const eventId = await onlyEventId();
    await env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.fabrikam.id).run();
    const lee = await signedIn("lee"); // Owner of Fabrikam, now Enterprise too
    await lee.page(WEBHOOKS);
    expect((await postForm(lee, `${WEBHOOKS}/${id}/redeliver`, [["eventId", eventId]])).status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await received("hooks")).toEqual([]);
    expect(await attempts(id)).toEqual([]);
  });

  it("refuse a second Send test event or Redeliver to the same endpoint URL within 10 s (429)", { timeout: 30_000 }, async () => {
    const adele = await signedIn("adele");
    const first = await addEndpoint(adele, receiverUrl("hooks"), ["member.deactivated"]);
    const second = await addEndpoint(adele, receiverUrl("elsewhere"), ["member.deactivated"]);
    await runStatements(db(), deactivateDiegoWrites());
    const eventId = await onlyEventId();
    await adele.page(`${WEBHOOKS}/${first.id}`);

    expect((await postForm(adele, `${WEBHOOKS}/${first.id}/test`, [])).status).toBe(303);
    for (const [action, fields] of [
      ["test", []],
      ["redeliver", [["eventId", eventId]]],
    ] as [string, [string, string][]][]) {
      const refused = await postForm(adele, `${WEBHOOKS}/${first.id}/${action}`, fields);
      expect(refused.status, action).toBe(429);
      expect(await refused.text()).toContain("less than 10 seconds ago");
    }
    // As an htmx request: a fragment with the same message.
    const fragment = await SELF.fetch(new URL(`${WEBHOOKS}/${first.id}/test`, APP), {
      method: "POST",
      headers: {
        cookie: adele.cookieHeader(),
        "cf-connecting-ip": adele.ip,
        origin: APP,
        "hx-request": "true",
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ _csrf: adele.csrfToken! }),
      redirect: "manual",
    });
    expect(fragment.status).toBe(429);
    const text = await fragment.text();
    expect(text).toContain("less than 10 seconds ago");
    expect(text).not.toContain("<html");
    // Another endpoint has its own pace.
    expect((await postForm(adele, `${WEBHOOKS}/${second.id}/redeliver`, [["eventId", eventId]])).status).toBe(303);

    await receivedWhere("hooks", ofType("webhook.test"));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await received("hooks")).filter(ofType("webhook.test"))).toHaveLength(1);

    // Ten seconds later it may again. (The relay after the first POST delivered the event once.)
    await receivedWhere("hooks", ofType("member.deactivated"));
    await env.DB.prepare("update webhook_manual_sends set sent_at = sent_at - 10000 where url_key = ?").bind(receiverUrl("hooks")).run();
    expect((await postForm(adele, `${WEBHOOKS}/${first.id}/redeliver`, [["eventId", eventId]])).status).toBe(303);
    const deadline = Date.now() + 10_000;
    while ((await received("hooks")).filter(ofType("member.deactivated")).length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await received("hooks")).filter(ofType("member.deactivated"))).toHaveLength(2);
  });

  it("send a signed webhook.test to that endpoint alone", async () => {
    const adele = await signedIn("adele");
    const { id, secret } = await addEndpoint(adele, receiverUrl("hooks"), ["member.deactivated"]);
    await adele.page(`${WEBHOOKS}/${id}`);
    expect((await postForm(adele, `${WEBHOOKS}/${id}/test`, [])).status).toBe(303);
    const test = await receivedWhere("hooks", ofType("webhook.test"));
    expect(verified(test, secret).data).toMatchObject({ endpoint_id: id, organization_id: CONTOSO });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await adele.page(`${WEBHOOKS}/${id}`)).html).toContain("Delivered");
  });
});
