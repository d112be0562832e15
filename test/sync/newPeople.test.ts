// Add new people automatically (issue 20): every directory sync run adds each enabled person in
// the sync scope who is not a member yet, linked by their Entra object id, with the role group
// mapping gives them (or the default role), shown as "Not signed in yet"; counted on the run,
// audited, raising member.created. A person created in Entra comes in through a real-time read.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, GROUP_IDS, entraUser } from "../../demo/directory.ts";
import { TestBrowser } from "../support/browser.ts";
import { mapGroup } from "../support/directory.ts";
import { emulatorAdmin } from "../support/emulator.ts";
import { ENTRA_PAGE, connectContoso, setFeature } from "../support/entra.ts";
import { addEndpoint, receiverUrl } from "../events/support.ts";
import { linkMember, signedIn } from "../support/people.ts";
import { chooseScope, scopeFields } from "../support/scope.ts";
import { contosoAudit } from "../support/world.ts";
import { realtimeWorld, runsSettled, withoutBurstWait } from "../realtime/support.ts";
import { CONTOSO, nightlyRun, resetWorld, until } from "./support.ts";

const IMPORT = `${ENTRA_PAGE}/import`;

const contosoMember = (oid: string) =>
  env.DB.prepare(
    `select u.id as user_id, u.last_sign_in_at, m.role, m.status from identities i
     join users u on u.id = i.user_id join memberships m on m.user_id = i.user_id and m.organization_id = ?
     where i.provider = 'microsoft' and i.issuer_key = ? and i.subject = ?`,
  )
    .bind(CONTOSO, CONTOSO_TENANT_ID, oid)
    .first<{ user_id: string; last_sign_in_at: number | null; role: string; status: string }>();

const created = async () =>
  (
    await env.DB.prepare("select payload from webhook_events where organization_id = ? and type = 'member.created'")
      .bind(CONTOSO)
      .all<{ payload: string }>()
  ).results.map((row) => JSON.parse(row.payload).data as { member: { email: string }; cause: string; run_id: string; role: string });

/** The nightly run, and its Workflow instance ended: the run's additions come after its row closes. */
async function nightlyRunDone() {
  const run = await nightlyRun();
  await workflowEnded(run.id);
  return run;
}

async function workflowEnded(runId: string) {
  const instance = await env.SYNC_WORKFLOW.get(runId);
  await until(async () => ["complete", "errored", "terminated"].includes((await instance.status()).status), 30_000);
}

async function turnOn(adele: TestBrowser) {
  await adele.page(ENTRA_PAGE);
  const on = await adele.post(`${IMPORT}/add-new-people`, { enabled: "true" }, { htmx: true });
  expect(on.status).toBe(200);
  expect(await on.text()).toContain('aria-checked="true"');
}

describe("the setting", () => {
  beforeEach(resetWorld);

  it("is off by default, on the Import section, for Owners and Admins, audited; a bad value is a 400", async () => {
    const adele = await connectContoso();
    const section = await (await adele.get(IMPORT, { "hx-request": "true" })).text();
    expect(section).toContain("Add new people automatically");
    expect(section).toContain('aria-checked="false"');
    await turnOn(adele);
    expect(await contosoAudit("entra.add_new_people_changed")).toEqual([{ setting: "Add new people automatically", enabled: true }]);
    expect((await adele.post(`${IMPORT}/add-new-people`, { enabled: "maybe" })).status).toBe(400);
    await linkMember("alex", { role: "member" });
    const alex = await signedIn("alex");
    expect((await alex.post(`${IMPORT}/add-new-people`, { enabled: "false" })).status).toBe(403);
  });
});

describe("a run with the setting on", () => {
  beforeEach(resetWorld);

  it("adds Megan, Alex and Isaiah (not the guests, not disabled Diego) as Not signed in yet; counted, audited, member.created", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await turnOn(adele);
    const run = await nightlyRunDone();
    expect(run.status).toBe("succeeded");
    for (const key of ["megan", "alex", "isaiah"]) {
      expect(await contosoMember(entraUser(key).oid)).toMatchObject({ role: "member", status: "active", last_sign_in_at: null });
    }
    expect(await contosoMember(entraUser("jordan").oid)).toBeNull();
    expect(await contosoMember(entraUser("caseyGuest").oid)).toBeNull();
    const row = await env.DB.prepare("select added from sync_runs where id = ?").bind(run.id).first<{ added: number }>();
    expect(row?.added).toBe(3);
    const audit = await contosoAudit("entra.user_added");
    expect(audit).toHaveLength(3);
    expect(audit[0]).toMatchObject({ role: "member", runId: run.id, rule: "default" });
    const users = await adele.page("/users");
    expect(users.html).toContain("Isaiah Langer");
    expect(users.html.match(/Not signed in yet/g)?.length).toBeGreaterThanOrEqual(3);

    const history = await adele.get(`${ENTRA_PAGE}/sync`, { "hx-request": "true" });
    expect(await history.text()).toContain('<td class="added">3</td>');
    // The next run adds nobody twice.
    const again = await nightlyRunDone();
    expect((await env.DB.prepare("select added from sync_runs where id = ?").bind(again.id).first<{ added: number }>())?.added).toBe(0);

    // Megan's first sign-in lands in that membership, with Auto-provision off.
    const megan = await contosoMember(entraUser("megan").oid);
    expect((await new TestBrowser().signInWithMicrosoft(entraUser("megan").oid)).status).toBe(302);
    const after = await contosoMember(entraUser("megan").oid);
    expect(after?.user_id).toBe(megan?.user_id);
    expect(after?.last_sign_in_at).not.toBeNull();
  });

  it("turned on after runs have stored a delta link: the next run lists everyone and adds the people already there", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    const before = await nightlyRunDone();
    expect(before.status).toBe("succeeded");
    expect(await contosoMember(entraUser("megan").oid)).toBeNull();
    // A delta read now would name nobody: nothing changed in Entra ID since.
    await turnOn(adele);
    const run = await nightlyRunDone();
    const row = await env.DB.prepare("select mode, added from sync_runs where id = ?")
      .bind(run.id)
      .first<{ mode: string; added: number }>();
    expect(row).toEqual({ mode: "full", added: 3 });
    for (const key of ["megan", "alex", "isaiah"]) expect(await contosoMember(entraUser(key).oid)).toMatchObject({ status: "active" });
  });

  it("Undo deactivates the people a run added, keeping their accounts; a hand-made Owner stays", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await turnOn(adele);
    const run = await nightlyRunDone();
    const alex = await contosoMember(entraUser("alex").oid);
    await env.DB.prepare("update memberships set role = 'owner' where user_id = ?").bind(alex!.user_id).run();
    await adele.page(ENTRA_PAGE);
    const section = await (await adele.get(`${ENTRA_PAGE}/sync`, { "hx-request": "true" })).text();
    expect(section).toContain("and deactivate the 3 people it added (their accounts stay)?");
    expect((await adele.post(`${ENTRA_PAGE}/sync/runs/${run.id}/undo`, {}, { htmx: true })).status).toBe(200);
    expect(await contosoMember(entraUser("megan").oid)).toMatchObject({ status: "deactivated" });
    expect(await contosoMember(entraUser("isaiah").oid)).toMatchObject({ status: "deactivated" });
    expect(await contosoMember(entraUser("alex").oid)).toMatchObject({ status: "active", role: "owner" });
    expect((await contosoAudit("member.deactivated")).filter((d) => d.undo === run.id)).toHaveLength(2);
  });

  it("a group scope adds only its members, with the role group mapping gives them; events carry cause directory and the run", async () => {
    const adele = await connectContoso(["auto-deprovision", "group-role-mapping"]);
    await mapGroup(GROUP_IDS.uniassetManagers, "UniAsset Managers", "manager");
    await adele.page(ENTRA_PAGE);
    await addEndpoint(adele, receiverUrl("joiners"), ["member.created"]);
    await turnOn(adele);
    // Saving the scope starts the run that applies it, a full listing: it adds the scope's new people.
    const run = {
      id: (await chooseScope(adele, scopeFields("groups", ["contoso.example", "contoso-uk.example"], [GROUP_IDS.uniassetManagers]))).runId,
    };
    expect(await contosoMember(entraUser("megan").oid)).toMatchObject({ role: "manager", status: "active" });
    expect(await contosoMember(entraUser("alex").oid)).toBeNull();
    expect(await contosoMember(entraUser("isaiah").oid)).toBeNull();
    expect(await created()).toEqual([expect.objectContaining({ cause: "directory", run_id: run.id, role: "manager" })]);
  });

  it("a run that would add more than the hold threshold allows adds nobody and holds them for Apply", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await emulatorAdmin("groups", { tenantId: CONTOSO_TENANT_ID, displayName: "New Hires", memberCount: 12 });
    await turnOn(adele);
    const run = await nightlyRunDone();
    expect(run.status).toBe("succeeded");
    expect(await contosoMember(entraUser("megan").oid)).toBeNull();
    expect(await contosoAudit("entra.joiners_held")).toEqual([expect.objectContaining({ runId: run.id, wouldAdd: 15 })]);
    // The Import section lists them; Apply adds them (counted on the run that held them), audited.
    const section = await (await adele.get(IMPORT, { "hx-request": "true" })).text();
    expect(section).toContain("15 new people are held");
    expect(section).toContain("Alex Wilber");
    await adele.page(ENTRA_PAGE);
    const applied = await adele.post(`${IMPORT}/held/apply`, {}, { htmx: true });
    expect(applied.status).toBe(200);
    expect(await applied.text()).toContain("15 new people added.");
    expect(await contosoMember(entraUser("megan").oid)).toMatchObject({ status: "active", role: "member" });
    expect((await env.DB.prepare("select added from sync_runs where id = ?").bind(run.id).first<{ added: number }>())?.added).toBe(15);
    expect(await contosoAudit("entra.joiners_applied")).toEqual([{ people: 15 }]);
    expect((await adele.post(`${IMPORT}/held/apply`, {}, { htmx: true })).status).toBe(409);
    expect((await adele.post(`${IMPORT}/held/dismiss`, {}, { htmx: true })).status).toBe(409);
  });
});

describe("without Auto-deprovision sync", () => {
  beforeEach(resetWorld);

  it("the setting alone makes runs: nightly and Sync now add people and deactivate nobody; turning Auto-deprovision on lists everyone", {
    timeout: 60_000,
  }, async () => {
    const adele = await connectContoso();
    await turnOn(adele);
    // Real-time updates come with the runs (a users subscription at Graph).
    expect(await env.DB.prepare("select status from realtime_subscriptions where organization_id = ?").bind(CONTOSO).first("status")).toBe(
      "active",
    );
    const run = await nightlyRunDone();
    expect(run).toMatchObject({ status: "succeeded", deactivated: 0 });
    expect(await contosoMember(entraUser("megan").oid)).toMatchObject({ status: "active" });
    // Diego is disabled in Entra: only Auto-deprovision sync deactivates him.
    expect(await contosoMember(entraUser("diego").oid)).toMatchObject({ status: "active" });
    const section = await (await adele.get(`${ENTRA_PAGE}/sync`, { "hx-request": "true" })).text();
    expect(section).toContain("deactivates nobody: Auto-deprovision sync is off.");
    expect(section).not.toMatch(/<button type="submit" class="primary" disabled[^>]*>Sync now/);

    const { oid } = await emulatorAdmin<{ oid: string }>("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Nina Newhire",
      userPrincipalName: "nina@contoso.example",
      accountEnabled: true,
      notify: false,
    });
    expect((await adele.post(`${ENTRA_PAGE}/sync/run`, {}, { htmx: true })).status).toBe(200);
    await until(async () => (await contosoMember(oid))?.status === "active", 30_000);
    await until(
      async () => (await env.DB.prepare("select count(*) as n from sync_runs where status = 'running'").first<number>("n")) === 0,
    );

    // Turned on, Auto-deprovision's first run lists everyone: the leaver the joiner runs passed over goes.
    await setFeature(adele, "auto-deprovision", true);
    const full = await nightlyRunDone();
    expect(full).toMatchObject({ status: "succeeded", mode: "full", deactivated: 1 });
    expect(await contosoMember(entraUser("diego").oid)).toMatchObject({ status: "deactivated" });

    // Both off: no run, no real-time updates.
    await setFeature(adele, "auto-deprovision", false);
    expect(await env.DB.prepare("select count(*) as n from realtime_subscriptions").first("n")).toBe(1);
    await adele.post(`${IMPORT}/add-new-people`, { enabled: "false" }, { htmx: true });
    expect(await env.DB.prepare("select count(*) as n from realtime_subscriptions").first("n")).toBe(0);
    expect((await adele.post(`${ENTRA_PAGE}/sync/run`, {}, { htmx: true })).status).toBe(409);
  });
});

describe("held new people", () => {
  beforeEach(resetWorld);

  it("Dismiss adds nobody and forgets the list, audited; a Member cannot", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await emulatorAdmin("groups", { tenantId: CONTOSO_TENANT_ID, displayName: "New Hires", memberCount: 12 });
    await turnOn(adele);
    await nightlyRunDone();
    await linkMember("alex", { role: "member" });
    const alex = await signedIn("alex");
    expect((await alex.post(`${IMPORT}/held/dismiss`, {}, { htmx: true })).status).toBe(403);
    await adele.page(ENTRA_PAGE);
    const dismissed = await adele.post(`${IMPORT}/held/dismiss`, {}, { htmx: true });
    expect(await dismissed.text()).toContain("Held new people dismissed.");
    expect(await contosoMember(entraUser("megan").oid)).toBeNull();
    expect(await env.DB.prepare("select count(*) as n from sync_held_joiners").first("n")).toBe(0);
    expect(await contosoAudit("entra.joiners_dismissed")).toEqual([{ people: 15 }]);
  });
});

describe("a person created in Entra", () => {
  beforeEach(realtimeWorld);

  it("is a member, Not signed in yet, through change notifications and a real-time read", { timeout: 60_000 }, async () => {
    await using _ = await withoutBurstWait();
    const adele = await connectContoso(["auto-deprovision"]);
    await turnOn(adele);
    await nightlyRunDone(); // the first read: Megan, Alex and Isaiah come in; the delta link is stored
    await runsSettled();
    const { oid } = await emulatorAdmin<{ oid: string }>("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Nina Newhire",
      userPrincipalName: "nina@contoso.example",
      accountEnabled: true,
    });
    const started = Date.now();
    await until(async () => (await contosoMember(oid))?.status === "active", 30_000);
    expect(Date.now() - started).toBeLessThan(30_000);
    const users = await adele.page("/users?q=nina");
    expect(users.html).toContain("Nina Newhire");
    expect(users.html).toContain("Not signed in yet");
  });
});
