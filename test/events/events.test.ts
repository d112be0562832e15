// Each event type is raised by the change it describes, with its cause and run id: directory sync
// (deactivated, held, failed), sign-in (provisioned), import, mapping and by hand (role changes),
// and the connection (connected, needs reconnect, disconnected).
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, GROUP_IDS, entraUser } from "../../demo/directory.ts";
import { DEMO_USER_IDS } from "../../demo/seed.ts";
import { createDb } from "../../src/db/client.ts";
import { SYNC_TRIGGERS, WEBHOOK_EVENT_TYPES } from "../../src/db/schema.ts";
import { recordRunOutcome } from "../../src/entra/sync/recordRun.ts";
import { TestBrowser } from "../support/browser.ts";
import { emulatorAdmin } from "../support/emulator.ts";
import { mapGroup } from "../support/directory.ts";
import { ENTRA_PAGE, connectContoso } from "../support/entra.ts";
import { linkMember, signedIn } from "../support/people.ts";
import { resetDemoWorld } from "../support/world.ts";
import { heldRun, nightlyRun } from "../sync/support.ts";
import { importFromDirectory } from "../support/imports.ts";
import { CONTOSO, addEndpoint, forgetReceiver, ofType, postForm, receivedWhere, receiverUrl, verified } from "./support.ts";

beforeEach(async () => {
  await resetDemoWorld();
  await forgetReceiver("events");
});

type Payload = { type: string; timestamp: string; data: Record<string, unknown> };
const outbox = async (type: string) =>
  (
    await env.DB.prepare("select payload from webhook_events where type = ? order by seq").bind(type).all<{ payload: string }>()
  ).results.map((row) => JSON.parse(row.payload) as Payload);

async function subscribeAll(browser: TestBrowser) {
  return addEndpoint(browser, receiverUrl("events"), [...WEBHOOK_EVENT_TYPES]);
}

describe("directory sync", () => {
  it("sends member.deactivated for Diego with the run id, signed", { timeout: 60_000 }, async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    const { secret } = await subscribeAll(adele);
    const run = await nightlyRun();
    expect(run.status).toBe("succeeded");
    const request = await receivedWhere("events", ofType("member.deactivated"));
    expect(verified(request, secret).data).toMatchObject({
      cause: "directory_sync",
      run_id: run.id,
      directory_reason: "disabled",
      member: { user_id: DEMO_USER_IDS.diego, email: "diego@contoso.example" },
    });
  });

  it("sends sync.run.held for a held run, and nothing for the members it did not change", { timeout: 60_000 }, async () => {
    const adele = await signedIn("adele");
    const { secret } = await subscribeAll(adele);
    const { run } = await heldRun();
    const request = await receivedWhere("events", ofType("sync.run.held"));
    expect(verified(request, secret).data).toMatchObject({ run_id: run.id, trigger: "schedule", would_deactivate: 7 });
    expect(await outbox("member.deactivated")).toEqual([]);
  });

  it("names what started a run as receivers know it: Sync now is 'manual', a real-time update 'notification'", async () => {
    await subscribeAll(await signedIn("adele"));
    const now = Date.now();
    // One open run per trigger, each closed as failed by the code every run ends through.
    const open = env.DB.prepare("insert into sync_runs (id, organization_id, trigger, status, started_at) values (?, ?, ?, 'running', ?)");
    await env.DB.batch(SYNC_TRIGGERS.map((trigger) => open.bind(`run-${trigger}`, CONTOSO, trigger, now)));
    for (const trigger of SYNC_TRIGGERS) {
      await recordRunOutcome(createDb(env.DB), {
        organizationId: CONTOSO,
        runId: `run-${trigger}`,
        trigger,
        status: "failed",
        mode: null,
        usersRead: 0,
        deactivated: 0,
        reactivated: 0,
        graphRequests: 0,
        error: "graph_unavailable",
        pending: null,
        deltaLink: null,
        now,
      });
    }
    const triggers = Object.fromEntries((await outbox("sync.run.failed")).map((event) => [event.data.run_id, event.data.trigger]));
    expect(triggers).toEqual({
      "run-schedule": "schedule",
      "run-sync_now": "manual",
      "run-preview": "preview",
      "run-realtime": "notification",
    });
  });

  it("sends sync.run.failed and connection.needs_reconnect when the grant is revoked", { timeout: 60_000 }, async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await subscribeAll(adele);
    await emulatorAdmin("grants/revoke", { tenantId: CONTOSO_TENANT_ID });
    await emulatorAdmin("access-tokens/expire");
    const run = await nightlyRun();
    expect(run.status).toBe("failed");
    expect((await outbox("sync.run.failed"))[0]!.data).toMatchObject({ run_id: run.id, error: "needs_reconnect" });
    expect((await outbox("connection.needs_reconnect"))[0]!.data).toMatchObject({
      tenant_id: CONTOSO_TENANT_ID,
      tenant_name: "Contoso Ltd",
    });
    await receivedWhere("events", ofType("connection.needs_reconnect"));
  });
});

describe("members and the connection", () => {
  it("raise connected, provisioned (sign-in), role changed (by hand), reactivated (by hand) and disconnected", {
    timeout: 120_000,
  }, async () => {
    const adele = await signedIn("adele");
    await subscribeAll(adele);
    const connected = await connectContoso(["auto-provision"]);
    expect((await outbox("connection.connected"))[0]!.data).toMatchObject({
      tenant_id: CONTOSO_TENANT_ID,
      actor_user_id: DEMO_USER_IDS.adele,
    });

    expect((await new TestBrowser().signInWithMicrosoft(entraUser("megan").oid)).status).toBe(302);
    const [provisioned] = await outbox("member.provisioned");
    expect(provisioned!.data).toMatchObject({ cause: "sign_in", role: "member", member: { email: "megan@contoso.example" } });
    const megan = (provisioned!.data.member as { user_id: string }).user_id;
    // A sign-in callback relays through the queue, without a D1 round trip of its own.
    await receivedWhere("events", ofType("member.provisioned"));

    await connected.page("/users");
    expect((await postForm(connected, `/users/${megan}/role`, [["role", "manager"]])).status).toBeLessThan(400);
    expect((await outbox("member.role_changed"))[0]!.data).toMatchObject({ cause: "by_hand", from_role: "member", to_role: "manager" });

    expect((await postForm(connected, `/users/${DEMO_USER_IDS.diego}/deactivate`, [])).status).toBeLessThan(400);
    expect((await postForm(connected, `/users/${DEMO_USER_IDS.diego}/reactivate`, [])).status).toBeLessThan(400);
    expect((await outbox("member.reactivated"))[0]!.data).toMatchObject({ cause: "by_hand", member: { user_id: DEMO_USER_IDS.diego } });

    await connected.page(ENTRA_PAGE);
    expect((await postForm(connected, `${ENTRA_PAGE}/disconnect`, [])).status).toBeLessThan(400);
    expect((await outbox("connection.disconnected"))[0]!.data).toMatchObject({ tenant_id: CONTOSO_TENANT_ID, tenant_name: "Contoso Ltd" });
    await receivedWhere("events", ofType("connection.disconnected"));
  });

  it("raise member.imported for each member a bulk import creates, in that member's batch", { timeout: 60_000 }, async () => {
    const adele = await connectContoso();
    await subscribeAll(adele);
    await adele.page(`${ENTRA_PAGE}/import`);
    expect((await importFromDirectory(adele)).html).toContain("Import applied.");
    const imported = await outbox("member.imported");
    expect(imported.map((e) => (e.data.member as { email: string }).email).sort()).toEqual([
      "alex@contoso.example",
      "isaiah@contoso-uk.example",
      "megan@contoso.example",
    ]);
    expect(imported[0]!.data).toMatchObject({ cause: "import", role: "member" });
  });

  it("raise member.role_changed with cause mapping when group mapping changes a role at sign-in", { timeout: 60_000 }, async () => {
    const adele = await connectContoso(["auto-provision", "group-role-mapping"]);
    await subscribeAll(adele);
    await mapGroup(GROUP_IDS.uniassetManagers, "UniAsset Managers", "manager");
    await linkMember("megan", { role: "member" });
    expect((await new TestBrowser().signInWithMicrosoft(entraUser("megan").oid)).status).toBe(302);
    expect((await outbox("member.role_changed"))[0]!.data).toMatchObject({
      cause: "mapping",
      from_role: "member",
      to_role: "manager",
      actor_user_id: null,
      member: { email: "megan@contoso.example" },
    });
  });
});
