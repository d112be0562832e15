// Event webhooks are an Enterprise feature all the way down: after a downgrade no event statement
// raises anything, the relay sends nothing already raised, the consumer sends nothing already queued, and
// the organization's Owners and Admins still see their endpoints and can disable or delete them.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../../src/index.ts";
import type { Viewer } from "../../src/context.ts";
import { sql } from "drizzle-orm";
import { createDb } from "../../src/db/client.ts";
import { WEBHOOK_EVENT_TYPES } from "../../src/db/schema.ts";
import { runStatements } from "../../src/db/statements.ts";
import type { DeliveryMessage } from "../../src/db/webhooks.ts";
import type { Env } from "../../src/env.ts";
import { tokenVault } from "../../src/lib/vault.ts";
import { insertEventsFor, MEMBER_OF_U, type EventFields } from "../../src/db/outbox.ts";
import type { SubscribableEventType } from "../../src/eventCatalogue.ts";
import { addEndpoint as addEndpointAsService } from "../../src/events/endpoints.ts";
import type { DeliveryQueue } from "../../src/events/queue.ts";
import { relayPendingEvents } from "../../src/events/relay.ts";
import { DEMO_USER_IDS } from "../../demo/seed.ts";
import { resetDemoWorld } from "../support/world.ts";
import { signedIn } from "../support/people.ts";
import { CONTOSO, WEBHOOKS, addEndpoint, endpointRow, forgetReceiver, outboxCount, postForm, received, receiverUrl } from "./support.ts";

const db = () => createDb(env.DB);
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
const downgradeContoso = () => env.DB.prepare("update organizations set plan = 'team' where id = ?").bind(CONTOSO).run();

beforeEach(async () => {
  await resetDemoWorld();
  await forgetReceiver("plan");
});

async function subscribeAll() {
  const added = await addEndpointAsService(
    db(),
    tokenVault(env),
    ADELE,
    {
      url: receiverUrl("plan"),
      eventTypes: [...WEBHOOK_EVENT_TYPES],
      appOrigin: env.APP_ORIGIN,
      formToken: crypto.randomUUID(),
    },
    Date.now(),
  );
  if (!added.added) throw new Error("a fresh form token added nothing");
  return added;
}

/** One event of each type that may be subscribed to, about Diego, raised by the catalogue as every change raises it. */
function eachEvent() {
  const now = Date.now();
  const member = { organization_id: CONTOSO, member: MEMBER_OF_U };
  const run = { organization_id: CONTOSO, run_id: crypto.randomUUID(), trigger: "schedule", mode: "full", users_read: 10 } as const;
  const connection = { organization_id: CONTOSO, tenant_id: "t", tenant_name: "T", actor_user_id: null };
  const data: { [T in SubscribableEventType]: EventFields<T> } = {
    "member.provisioned": { ...member, role: "member", cause: "sign_in", run_id: null, actor_user_id: null },
    "member.imported": { ...member, role: "member", cause: "import", run_id: null, actor_user_id: null },
    "member.created": { ...member, role: "member", cause: "directory", run_id: crypto.randomUUID(), actor_user_id: null },
    "member.role_changed": {
      ...member,
      from_role: "member",
      to_role: "manager",
      cause: "by_hand",
      run_id: null,
      actor_user_id: null,
      deciding_group: null,
    },
    "member.updated": {
      ...member,
      cause: "directory_sync",
      run_id: null,
      changes: { department: { from: "Sales", to: "Finance" } },
    },
    "member.deactivated": { ...member, cause: "by_hand", directory_reason: null, run_id: null, actor_user_id: null },
    "member.reactivated": { ...member, cause: "by_hand", run_id: null, actor_user_id: null },
    "sync.run.held": { ...run, would_deactivate: 7, would_reactivate: 0, error: null },
    "sync.run.failed": { ...run, would_deactivate: null, would_reactivate: null, error: "graph_unavailable" },
    "connection.needs_reconnect": { organization_id: CONTOSO, tenant_id: "t", tenant_name: "T", reason: "grant_revoked" },
    "connection.connected": connection,
    "connection.disconnected": connection,
    "scim.deactivations.held": { ...member, recent_deactivations: 6 },
  };
  const diego = { from: sql`users u`, where: sql`u.id = ${DEMO_USER_IDS.diego}` };
  return WEBHOOK_EVENT_TYPES.map(<T extends SubscribableEventType>(type: T) =>
    insertEventsFor(type, { organizationId: CONTOSO, now, data: data[type] as EventFields<T> }, diego),
  );
}

describe("after a downgrade from Enterprise", () => {
  it("raises no event: every event statement checks the plan", async () => {
    await subscribeAll();
    await runStatements(db(), eachEvent());
    expect(await outboxCount()).toBe(WEBHOOK_EVENT_TYPES.length);

    await downgradeContoso();
    await runStatements(db(), eachEvent());
    expect(await outboxCount()).toBe(WEBHOOK_EVENT_TYPES.length);
  });

  it("sends nothing raised or queued before it: the relay and the consumer check the plan", async () => {
    const { endpointId } = await subscribeAll();
    await runStatements(db(), eachEvent().slice(3, 4));
    const event = await env.DB.prepare("select id from webhook_events").first<{ id: string }>();
    await downgradeContoso();

    const relayed = await relayPendingEvents(db(), env.WEBHOOK_DELIVERIES as DeliveryQueue, Date.now());
    expect(relayed).toMatchObject({ events: 1, messages: 0 });

    const batch = createMessageBatch<DeliveryMessage>("uniasset-webhook-deliveries", [
      { id: "queued-before", timestamp: new Date(), attempts: 1, body: { eventId: event!.id, endpointId, queuedAt: Date.now() } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env as unknown as Env);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["queued-before"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await received("plan")).toEqual([]);
    const log = await env.DB.prepare("select outcome, error from webhook_attempts where endpoint_id = ?").bind(endpointId).all();
    expect(log.results).toEqual([{ outcome: "failed", error: "Not sent: event webhooks need the Enterprise plan." }]);
    // Not the receiver's fault: the failure streak is untouched.
    expect(await endpointRow(endpointId)).toMatchObject({ enabled: 1, consecutive_failures: 0, failing_since: null });
  });

  it("lets Owners and Admins list, disable and delete their endpoints, and nothing else, under a notice", async () => {
    const adele = await signedIn("adele");
    const { id } = await addEndpoint(adele, receiverUrl("plan"), ["member.deactivated"]);
    await downgradeContoso();

    const list = await adele.page(WEBHOOKS);
    expect(list.status).toBe(200);
    expect(list.html).toContain("Plan required: Enterprise");
    expect(list.html).toContain("No events are sent to the endpoints below meanwhile");
    expect(list.html).toContain(receiverUrl("plan"));
    expect(list.html).not.toContain("Add endpoint");

    const page = await adele.page(`${WEBHOOKS}/${id}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain("Plan required: Enterprise");
    expect(page.html).toContain(">Disable<");
    expect(page.html).toContain("Delete endpoint");
    for (const hidden of ["Send test event", "Rotate secret", ">Enable<"]) expect(page.html).not.toContain(hidden);

    for (const action of ["rotate", "test"]) {
      const refused = await postForm(adele, `${WEBHOOKS}/${id}/${action}`, []);
      expect(refused.status, action).toBe(403);
      expect(await refused.text()).toContain("Event webhooks are available on the Enterprise plan");
    }
    expect((await postForm(adele, `${WEBHOOKS}/${id}/redeliver`, [["eventId", `msg_${"0".repeat(32)}`]])).status).toBe(403);
    expect((await postForm(adele, `${WEBHOOKS}/${id}/disable`, [])).status).toBe(303);
    expect(await endpointRow(id)).toMatchObject({ enabled: 0, disabled_reason: "by_hand" });
    expect((await postForm(adele, `${WEBHOOKS}/${id}/enable`, [])).status).toBe(403);
    expect(await endpointRow(id)).toMatchObject({ enabled: 0 });
    expect((await postForm(adele, `${WEBHOOKS}/${id}/delete`, [])).status).toBe(303);
    expect(await endpointRow(id)).toBeNull();
    expect((await adele.page(WEBHOOKS)).html).not.toContain(receiverUrl("plan"));
  });
});
