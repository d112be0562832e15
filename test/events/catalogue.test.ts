// Every event type of the catalogue (src/eventCatalogue.ts), raised through the code paths that
// raise it in production (sign-in, the Users page, bulk import, the nightly run, Apply and Undo on
// the Entra page, a revoked grant, Disconnect, Send test event), and every outbox payload checked
// against the catalogue: parsed strictly (an unknown or missing field fails), and written exactly as
// the catalogue orders it (the stored text is the parsed payload serialized again, byte for byte).
// Receivers must not notice that SQL triggers (migrations/0011, 0017) no longer raise the events:
// the triggers are put back for this test, writing into a shadow outbox, and what they write for
// the same changes is the same text.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, GROUP_IDS, entraUser } from "../../demo/directory.ts";
import { DEMO_USER_IDS } from "../../demo/seed.ts";
import { EVENT_TYPES, SUBSCRIBABLE_EVENT_TYPES, envelopeOf, type EventType } from "../../src/eventCatalogue.ts";
import { TestBrowser } from "../support/browser.ts";
import { mapGroup } from "../support/directory.ts";
import { createDirectoryUser, emulatorAdmin } from "../support/emulator.ts";
import { ENTRA_PAGE, connectEntra, setFeature } from "../support/entra.ts";
import { DEMO_ORGS, linkMember, signedIn } from "../support/people.ts";
import { PATCH_OP, makeScimToken, pushUser, scimRequest } from "../support/scim.ts";
import { SYNC, massLeavers, nightlyRun, resetWorld } from "../sync/support.ts";
import { importFromDirectory } from "../support/imports.ts";
import { WEBHOOKS, addEndpoint, forgetReceiver, postForm, receiverUrl } from "./support.ts";

interface Raised {
  type: EventType;
  payload: string;
}

let raised: Raised[] = [];
/** What the triggers of migrations/0011 and 0017 wrote for the same changes. */
let legacy: Raised[] = [];
const runs: Record<string, string> = {};

/** What the outbox holds, oldest first. */
async function outbox(table = "webhook_events"): Promise<Raised[]> {
  return (await env.DB.prepare(`select type, payload from ${table} order by seq`).all<Raised>()).results;
}

/**
 * The event triggers as they last were before migrations/0018 dropped them (0011's, and 0017's
 * sync.run trigger, which kept the public `trigger` words), writing into `legacy_events`.
 */
async function legacyTriggers() {
  await env.DB.prepare("create table legacy_events as select * from webhook_events where 0").run();
  const latest = new Map<string, string>();
  for (const query of env.TEST_MIGRATIONS.flatMap((migration) => migration.queries)) {
    const name = /^\s*CREATE TRIGGER (webhook_event_\w+)/m.exec(query)?.[1];
    if (name) latest.set(name, query);
  }
  expect(latest.size).toBe(7);
  await env.DB.batch(
    [...latest.values()].map((query) => env.DB.prepare(query.replaceAll("INSERT INTO webhook_events", "INSERT INTO legacy_events"))),
  );
}

const dataOf = (event: Raised) => (JSON.parse(event.payload) as { data: Record<string, unknown> }).data;
const ofType = (type: EventType) => raised.filter((event) => event.type === type).map(dataOf);

beforeAll(async () => {
  await resetWorld();
  await forgetReceiver("catalogue");
  await legacyTriggers();
  const adele = await signedIn("adele");
  const { id: endpointId } = await addEndpoint(adele, receiverUrl("catalogue"), [...SUBSCRIBABLE_EVENT_TYPES]);

  // connection.connected, then member.provisioned: Megan signs in, her groups make her a Manager.
  expect((await connectEntra(adele)).headers.get("location")).toBe(ENTRA_PAGE);
  for (const feature of ["auto-provision", "group-role-mapping", "auto-deprovision"] as const) await setFeature(adele, feature, true);
  await mapGroup(GROUP_IDS.uniassetManagers, "UniAsset Managers", "manager");
  const megan = new TestBrowser();
  expect((await megan.signInWithMicrosoft(entraUser("megan").oid)).status).toBe(302);
  const meganId = (await env.DB.prepare("select id from users where email = 'megan@contoso.example'").first<{ id: string }>())!.id;

  // member.role_changed by hand (with mapping off: while it is on, a mapped role is the directory's),
  // then by mapping at her next sign-in; deactivated and reactivated by hand.
  await setFeature(adele, "group-role-mapping", false);
  await adele.page("/users");
  expect((await postForm(adele, `/users/${meganId}/role`, [["role", "viewer"]])).status).toBeLessThan(400);
  await setFeature(adele, "group-role-mapping", true);
  expect((await new TestBrowser().signInWithMicrosoft(entraUser("megan").oid)).status).toBe(302);
  expect((await postForm(adele, `/users/${meganId}/deactivate`, [])).status).toBeLessThan(400);
  expect((await postForm(adele, `/users/${meganId}/reactivate`, [])).status).toBeLessThan(400);

  // member.imported: Alex and Isaiah, by a bulk import.
  await adele.page(`${ENTRA_PAGE}/import`);
  expect((await importFromDirectory(adele)).html).toContain("Import applied.");

  // sync.run.held: Diego, six leavers and an Owner who left; Apply deactivates them (the Owner on her own).
  await massLeavers();
  await linkMember(await createDirectoryUser("Leaving Owner", { accountEnabled: false }), { role: "owner" });
  const held = await nightlyRun();
  expect(held.status).toBe("held");
  runs.held = held.id;
  await adele.page(ENTRA_PAGE);
  expect((await adele.post(`${SYNC}/runs/${held.id}/apply`, {}, { htmx: true })).status).toBe(200);

  // member.reactivated by directory sync: Diego's account is enabled again. Then Undo of the applied run.
  // member.updated: the same run reads Megan moved to Finance (the held run read her profile first).
  await emulatorAdmin(`users/${entraUser("diego").oid}/enable`);
  const moved = await env.EMULATOR.fetch(`http://localhost:8788/_emulator/users/${entraUser("megan").oid}`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ department: "Finance" }),
  });
  expect(moved.status).toBe(200);
  const returned = await nightlyRun();
  expect(returned).toMatchObject({ status: "succeeded", reactivated: 1 });
  runs.returned = returned.id;

  // member.created: with Add new people automatically on, the next run adds a person new in Entra.
  await adele.page(ENTRA_PAGE);
  expect((await adele.post(`${ENTRA_PAGE}/import/add-new-people`, { enabled: "true" }, { htmx: true })).status).toBe(200);
  await createDirectoryUser("Nora Newhire");
  const joined = await nightlyRun();
  const joinedInstance = await env.SYNC_WORKFLOW.get(joined.id);
  for (let i = 0; i < 600 && (await joinedInstance.status()).status !== "complete"; i++) await new Promise((r) => setTimeout(r, 50));
  runs.joined = joined.id;
  await adele.page(ENTRA_PAGE);
  expect((await adele.post(`${SYNC}/runs/${held.id}/undo`, {}, { htmx: true })).status).toBe(200);

  // sync.run.failed and connection.needs_reconnect: the grant is revoked.
  await emulatorAdmin("grants/revoke", { tenantId: CONTOSO_TENANT_ID });
  await emulatorAdmin("access-tokens/expire");
  const failed = await nightlyRun();
  expect(failed.status).toBe("failed");
  runs.failed = failed.id;

  // connection.disconnected, and webhook.test.
  await adele.page(ENTRA_PAGE);
  expect((await postForm(adele, `${ENTRA_PAGE}/disconnect`, [])).status).toBeLessThan(400);
  await adele.page(`${WEBHOOKS}/${endpointId}`);
  expect((await postForm(adele, `${WEBHOOKS}/${endpointId}/test`, [])).status).toBe(303);

  raised = await outbox();
  legacy = await outbox("legacy_events");

  // scim.deactivations.held: Entra ID is disconnected, so the directory may be SCIM; a provider
  // deactivates 6 of its 8 Users, past the hold threshold. Only the hold's event joins `raised`: no
  // trigger ever raised SCIM's events, so they stay out of the comparison with the triggers' outbox.
  const token = await makeScimToken(DEMO_ORGS.contoso.id);
  const ids = [];
  for (let i = 0; i < 8; i++) ids.push(await pushUser(token, { userName: `burst${i}@contoso.example`, displayName: `Burst ${i}` }));
  for (const id of ids.slice(0, 6)) {
    const reply = await scimRequest(token, "PATCH", `Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: "replace", path: "active", value: false }],
    });
    expect(reply.status).toBe(200);
  }
  const scimHold = (await outbox()).filter((event) => event.type === "scim.deactivations.held");
  expect(scimHold).toHaveLength(1);
  raised = [...raised, ...scimHold];
}, 240_000);

describe("the event catalogue", () => {
  it("raises every event type it declares, and nothing else", () => {
    expect(new Set(raised.map((event) => event.type))).toEqual(new Set(EVENT_TYPES));
  });

  it("holds every payload to its schema, strictly, written in the catalogue's order", () => {
    for (const event of raised) {
      const parsed = envelopeOf(event.type).safeParse(JSON.parse(event.payload));
      expect(parsed.error?.issues ?? [], event.payload).toEqual([]);
      expect(JSON.stringify(parsed.data), event.type).toBe(event.payload);
    }
  });

  it("writes what the triggers of migrations/0011 and 0017 wrote, byte for byte", () => {
    // Those were never raised by a trigger: bulk import, Send test event and the SCIM hold wrote
    // their own, member.updated came with issue 19 and member.created with issue 20.
    const own = new Set<EventType>(["member.imported", "webhook.test", "scim.deactivations.held", "member.updated", "member.created"]);
    const triggered = raised.filter((event) => !own.has(event.type));
    // Fields added since, at the end of a payload (receivers ignore what they do not know): issue
    // 19's deciding_group on member.role_changed. Every field the triggers wrote stays as it was.
    const ADDED: Record<string, string[]> = { "member.role_changed": ["deciding_group"] };
    const withoutAdded = (event: Raised) => {
      const added = ADDED[event.type];
      if (!added) return event.payload;
      const payload = JSON.parse(event.payload) as { data: Record<string, unknown> };
      for (const field of added) delete payload.data[field];
      return JSON.stringify(payload);
    };
    const text = (events: Raised[]) => events.map((event) => `${event.type} ${withoutAdded(event)}`).sort();
    expect(triggered.length).toBeGreaterThan(20);
    expect(text(triggered)).toEqual(text(legacy));
  });

  it("names each changed profile field with its old and new value, and the run (member.updated)", () => {
    const megan = ofType("member.updated").find((data) => (data.member as { email: string }).email === "megan@contoso.example");
    expect(megan).toMatchObject({
      cause: "directory_sync",
      run_id: runs.returned,
      changes: { department: { from: "Marketing", to: "Finance" } },
    });
  });

  it("says who changed a member, and which run did", () => {
    const deactivated = ofType("member.deactivated");
    expect(deactivated.filter((data) => data.cause === "by_hand")).toEqual([
      expect.objectContaining({ directory_reason: null, run_id: null, actor_user_id: DEMO_USER_IDS.adele }),
    ]);
    const bySync = deactivated.filter((data) => data.cause === "directory_sync");
    // Diego, six leavers and the Owner: the Owner's is raised by its own statement.
    expect(bySync).toHaveLength(8);
    for (const data of bySync) expect(data).toMatchObject({ directory_reason: "disabled", run_id: runs.held, actor_user_id: null });

    const reactivated = ofType("member.reactivated");
    expect(reactivated.filter((data) => data.cause === "directory_sync")).toEqual([
      expect.objectContaining({
        member: expect.objectContaining({ user_id: DEMO_USER_IDS.diego }),
        run_id: runs.returned,
        actor_user_id: null,
      }),
    ]);
    // By hand: Megan, then Undo of the applied run (its seven others, with the run undone).
    expect(reactivated.filter((data) => data.cause === "by_hand").map((data) => data.run_id)).toEqual([null, ...Array(7).fill(runs.held)]);

    expect(ofType("member.role_changed")).toEqual([
      expect.objectContaining({ from_role: "manager", to_role: "viewer", cause: "by_hand", actor_user_id: DEMO_USER_IDS.adele }),
      expect.objectContaining({ from_role: "viewer", to_role: "manager", cause: "mapping", actor_user_id: null }),
    ]);
    expect(ofType("member.provisioned")).toEqual([expect.objectContaining({ role: "manager", cause: "sign_in" })]);
    // Alex, and Isaiah of contoso-uk.example (Contoso's second verified domain).
    expect(ofType("member.imported")).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ member: expect.objectContaining({ email: "alex@contoso.example" }) }),
        expect.objectContaining({ member: expect.objectContaining({ email: "isaiah@contoso-uk.example" }) }),
      ]),
    );
    expect(ofType("member.imported")).toHaveLength(2);
    expect(ofType("member.created")).toEqual([
      expect.objectContaining({
        member: expect.objectContaining({ display_name: "Nora Newhire" }),
        cause: "directory",
        run_id: runs.joined,
      }),
    ]);
  });

  it("describes runs and the connection in the public words", () => {
    expect(ofType("sync.run.held")).toEqual([
      expect.objectContaining({ run_id: runs.held, trigger: "schedule", mode: "full", would_deactivate: 8 }),
    ]);
    expect(ofType("sync.run.failed")).toEqual([
      expect.objectContaining({ run_id: runs.failed, trigger: "schedule", error: "needs_reconnect" }),
    ]);
    const tenant = { tenant_id: CONTOSO_TENANT_ID, tenant_name: "Contoso Ltd" };
    expect(ofType("connection.needs_reconnect")).toEqual([{ organization_id: expect.any(String), ...tenant, reason: "grant_revoked" }]);
    expect(ofType("connection.connected")).toEqual([expect.objectContaining({ ...tenant, actor_user_id: DEMO_USER_IDS.adele })]);
    expect(ofType("connection.disconnected")).toEqual([expect.objectContaining({ ...tenant, actor_user_id: DEMO_USER_IDS.adele })]);
  });
});
