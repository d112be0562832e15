// Mapping edits apply to everyone at the next run (issue 19): an edit on the mapping page marks the
// mapping changed, and the next nightly run or Sync now decides every linked member's role again by
// the sign-in rule, reading the mapped groups' transitive members. Owners never change; a mass
// lowering is held; the page's preview lists who would change and changes nothing.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { GROUP_IDS, entraUser } from "../../demo/directory.ts";
import type { TestBrowser } from "../support/browser.ts";
import { contosoRoleOf } from "../support/directory.ts";
import { createDirectoryUser, emulatorAdmin, emulatorStats } from "../support/emulator.ts";
import { ENTRA_PAGE, connectContoso, setFeature } from "../support/entra.ts";
import { awaitImport, postImport } from "../support/imports.ts";
import { linkMember, signedIn } from "../support/people.ts";
import { CONTOSO, membership, nightlyRun, resetWorld, until, waitForRun } from "./support.ts";

const MAPPING = `${ENTRA_PAGE}/mapping`;
const ROLE_CHANGES = `${ENTRA_PAGE}/role-changes`;
const adele = entraUser("adele");
const megan = entraUser("megan");
const alex = entraUser("alex");

/** Contoso with mapping on and nothing mapped: Alex and Megan signed in and got the default role (Member). */
async function unmappedContoso(): Promise<TestBrowser> {
  const owner = await connectContoso(["auto-provision", "auto-deprovision", "group-role-mapping"]);
  await linkMember("alex", { role: "member" });
  await linkMember("megan", { role: "member" });
  // Adele (the Owner) is in the Admins group too: the mapping must never touch her.
  await emulatorAdmin(`groups/${GROUP_IDS.uniassetAdmins}/members`, { oid: adele.oid });
  return owner;
}

/** Polls the preview of the next run as the page does, until its run is over; returns the last fragment. */
async function awaitNextRunPreview(owner: TestBrowser, timeoutMs = 20_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const html = await (await owner.get(`${MAPPING}/next-run`, { "hx-request": "true" })).text();
    if (!html.includes('aria-busy="true"')) return html;
    if (Date.now() > until) throw new Error(`the preview is still running after ${timeoutMs} ms: ${html.slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function edit(owner: TestBrowser, fields: Record<string, string>) {
  const response = await owner.post(`${MAPPING}/apply`, fields, { htmx: true });
  expect(response.status).toBe(200);
  return response.text();
}

type RoleAudit = { oid: string; from?: string; to?: string; rule?: string; runId?: string; [key: string]: unknown };
const roleMappedAudits = async (runId: string): Promise<RoleAudit[]> =>
  (
    await env.DB.prepare(
      "select i.subject as oid, a.details from audit_events a join identities i on i.user_id = a.target_user_id where a.action = 'entra.role_mapped' and a.organization_id = ? order by a.id",
    )
      .bind(CONTOSO)
      .all<{ oid: string; details: string }>()
  ).results
    .map((row): RoleAudit => ({ oid: row.oid, ...(JSON.parse(row.details) as Record<string, string | null>) }))
    .filter((a) => a.runId === runId);

beforeEach(resetWorld);

describe("a mapping edit", () => {
  it("raises the mapped group's members at the next run (nested groups count), audited, once; Owners untouched", async () => {
    const owner = await unmappedContoso();
    const saved = await edit(owner, { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "admin" });
    expect(saved).toContain("applies to everyone at the next directory run");
    // Nobody changed yet: the edit waits for the run.
    expect((await contosoRoleOf(alex.oid))?.role).toBe("member");
    await emulatorAdmin("stats/reset");
    const run = await nightlyRun();
    expect(run.status).toBe("succeeded");
    expect((await contosoRoleOf(alex.oid))?.role).toBe("admin");
    expect((await contosoRoleOf(megan.oid))?.role).toBe("member");
    expect((await contosoRoleOf(adele.oid))?.role).toBe("owner");
    expect(await roleMappedAudits(run.id)).toEqual([
      {
        oid: alex.oid,
        from: "member",
        to: "admin",
        group: "UniAsset Admins",
        groupId: GROUP_IDS.uniassetAdmins,
        rule: "group",
        runId: run.id,
      },
    ]);
    // The mapped group's members were read, nobody's groups one by one.
    const { requests } = await emulatorStats();
    expect(requests.members ?? 0).toBeGreaterThanOrEqual(1);
    expect(requests.memberOf ?? 0).toBe(0);
    // Applied once: the next run reads no mapped group again.
    await emulatorAdmin("stats/reset");
    await nightlyRun();
    expect((await emulatorStats()).requests.members ?? 0).toBe(0);
  });

  it("puts members back to the default role when their group's mapping is removed", async () => {
    const owner = await unmappedContoso();
    await edit(owner, { change: "add", groupId: GROUP_IDS.uniassetManagers, role: "manager" });
    await nightlyRun();
    expect((await contosoRoleOf(megan.oid))?.role).toBe("manager");
    await edit(owner, { change: "remove", groupId: GROUP_IDS.uniassetManagers });
    const run = await nightlyRun();
    expect((await contosoRoleOf(megan.oid))?.role).toBe("member");
    expect((await roleMappedAudits(run.id)).map((a) => [a.oid, a.from, a.to, a.rule])).toEqual([
      [megan.oid, "manager", "member", "default"],
    ]);
  });

  it('writes "Why this role" again for a member whose role stays but whose reason changed', async () => {
    const owner = await unmappedContoso();
    const why = () =>
      env.DB.prepare(
        "select rd.role, rd.rule, rd.deciding_group ->> '$.name' as deciding from role_decisions rd join identities i on i.user_id = rd.user_id where rd.organization_id = ? and i.subject = ?",
      )
        .bind(CONTOSO, megan.oid)
        .first();
    // Megan (a Member) is in UniAsset Managers, now mapped to Member: her role stays, the group decides it.
    await edit(owner, { change: "add", groupId: GROUP_IDS.uniassetManagers, role: "member" });
    const first = await nightlyRun();
    expect((await contosoRoleOf(megan.oid))?.role).toBe("member");
    expect(await why()).toEqual({ role: "member", rule: "group", deciding: "UniAsset Managers" });
    // The group is no longer mapped: still a Member, now by the default role. No role change, no audit.
    await edit(owner, { change: "remove", groupId: GROUP_IDS.uniassetManagers });
    const second = await nightlyRun();
    expect(await why()).toEqual({ role: "member", rule: "default", deciding: null });
    expect([...(await roleMappedAudits(first.id)), ...(await roleMappedAudits(second.id))]).toEqual([]);
  });

  it("changes everyone in no mapped group when the default role changes", async () => {
    const owner = await unmappedContoso();
    await edit(owner, { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "admin" });
    await edit(owner, { change: "default", role: "viewer" });
    const run = await nightlyRun();
    expect((await contosoRoleOf(megan.oid))?.role).toBe("viewer");
    expect((await contosoRoleOf(alex.oid))?.role).toBe("admin");
    expect((await contosoRoleOf(adele.oid))?.role).toBe("owner");
    expect((await roleMappedAudits(run.id)).map((a) => [a.oid, a.to]).sort()).toEqual(
      [
        [alex.oid, "admin"],
        [megan.oid, "viewer"],
      ].sort(),
    );
  });
});

describe("a mass lowering after an edit", () => {
  it("is held: nobody changes until Apply; Undo then puts back exactly the roles it changed", async () => {
    const owner = await unmappedContoso();
    const people = [];
    for (let i = 1; i <= 6; i++) {
      const identity = await createDirectoryUser(`Manager ${i}`);
      await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members`, { oid: identity.subject });
      people.push(await linkMember(identity, { role: "member" }));
    }
    await edit(owner, { change: "add", groupId: GROUP_IDS.uniassetManagers, role: "manager" });
    const raised = await nightlyRun();
    expect((await roleMappedAudits(raised.id)).length).toBe(7);
    for (const person of people) expect((await membership(person.userId))?.role).toBe("manager");
    expect((await contosoRoleOf(megan.oid))?.role).toBe("manager");

    // Removing the mapping would lower 7 of 9 linked members: held.
    await edit(owner, { change: "remove", groupId: GROUP_IDS.uniassetManagers });
    const held = await nightlyRun();
    for (const person of people) expect((await membership(person.userId))?.role).toBe("manager");
    const page = await (await owner.get(ROLE_CHANGES)).text();
    expect(page).toContain("Held: these role changes wait for you");
    expect(page).toContain("Manager 4");
    expect(await roleMappedAudits(held.id)).toEqual([]);
    expect((await owner.post(`${ROLE_CHANGES}/${held.id}/apply`, {})).status).toBe(303);
    for (const person of people) expect((await membership(person.userId))?.role).toBe("member");

    expect((await contosoRoleOf(megan.oid))?.role).toBe("member");

    // Undo puts back exactly the roles that run changed: the seven managers, nobody else.
    expect((await owner.post(`${ROLE_CHANGES}/${held.id}/undo`, {})).status).toBe(303);
    for (const person of people) expect((await membership(person.userId))?.role).toBe("manager");
    expect((await contosoRoleOf(megan.oid))?.role).toBe("manager");
    expect((await contosoRoleOf(alex.oid))?.role).toBe("member");
    expect((await contosoRoleOf(adele.oid))?.role).toBe("owner");
  });
});

describe("the mapping page", () => {
  it("says edits apply at the next run, and its preview lists who would change and how, changing nothing", async () => {
    const owner = await unmappedContoso();
    const page = await (await owner.get(MAPPING)).text();
    expect(page).toContain("apply to everyone at the next directory run");
    expect(page).toContain("Preview the next run");
    expect(page).toContain(`action="${ENTRA_PAGE}/sync/run"`);
    const nothing = await owner.post(`${MAPPING}/next-run`, {}, { htmx: true });
    expect(nothing.status).toBe(200);
    expect(await nothing.text()).toContain("No mapping edit waits for the next run");

    await edit(owner, { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "admin" });
    await edit(owner, { change: "default", role: "viewer" });
    const snapshot = () =>
      env.DB.prepare(
        "select (select json_group_array(role) from (select role from memberships where organization_id = ?1 order by user_id)) as roles, (select count(*) from run_role_changes) as listed, (select count(*) from remap_matches) as scratch, (select applied_version from mapping_edits where organization_id = ?1) as applied",
      )
        .bind(CONTOSO)
        .first();
    const before = await snapshot();
    const shown = await owner.post(`${MAPPING}/next-run`, {}, { htmx: true });
    expect(shown.status).toBe(200);
    // A run of the import Workflow: the answer is its progress, which polls itself.
    expect(await shown.text()).toContain(`hx-get="${MAPPING}/next-run"`);
    const html = await awaitNextRunPreview(owner);
    // Diego too: an active member still (disabled in Entra, the run's leaver step deactivates him first).
    expect(html).toContain("The next run would change 3 roles, 2 of them lower");
    expect(html).toMatch(/Alex Wilber<\/td>.*Member.*Admin.*Member of UniAsset Admins/s);
    expect(html).toMatch(/Megan Bowen<\/td>.*Member.*Viewer.*In no mapped group: the default role/s);
    expect(html).not.toContain("Adele");
    expect(await snapshot()).toEqual(before);
    expect((await contosoRoleOf(alex.oid))?.role).toBe("member");
    // A reload of the mapping page shows the latest preview.
    expect(await (await owner.get(MAPPING)).text()).toContain("The next run would change 3 roles, 2 of them lower");

    // Sync now applies what the preview said.
    expect((await owner.post(`${ENTRA_PAGE}/sync/run`, {})).status).toBe(303);
    const run = await env.DB.prepare("select id from sync_runs where organization_id = ? and trigger = 'sync_now'")
      .bind(CONTOSO)
      .first<{ id: string }>();
    await waitForRun(run!.id);
    await until(async () => (await contosoRoleOf(megan.oid))?.role === "viewer", 20_000);
    expect((await contosoRoleOf(alex.oid))?.role).toBe("admin");
  });

  it("refuses a forged or tampered request, a Member, and a start while an import runs, starting nothing", async () => {
    const owner = await unmappedContoso();
    await edit(owner, { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "admin" });
    const previews = () => env.DB.prepare("select count(*) as n from directory_imports").first<number>("n");
    expect((await owner.post(`${MAPPING}/next-run`, {}, { htmx: true, csrf: null })).status).toBe(403);
    expect((await owner.post(`${MAPPING}/next-run`, {}, { htmx: true, csrf: "forged" })).status).toBe(403);
    expect((await owner.post(`${MAPPING}/next-run`, {}, { htmx: true, origin: "https://evil.example" })).status).toBe(403);
    // Alex and Megan are Members: neither the preview nor its progress is theirs.
    const member = await signedIn("megan");
    expect((await member.post(`${MAPPING}/next-run`, {}, { htmx: true })).status).toBe(403);
    expect((await member.get(`${MAPPING}/next-run`, { "hx-request": "true" })).status).toBe(403);
    expect(await previews()).toBe(0);

    // An import running (a slow Graph keeps it reading): one run at a time per organization.
    await emulatorAdmin("faults", { endpoint: "users", delayMs: 1_500, times: 1 });
    expect((await postImport(owner, "preview", [["scope", "all"]])).status).toBe(200);
    const busy = await owner.post(`${MAPPING}/next-run`, {}, { htmx: true });
    expect(busy.status).toBe(409);
    expect(await busy.text()).toContain("An import or another preview is already running for your organization");
    expect(await previews()).toBe(1);
    await awaitImport(owner);
  });

  it("stops with the reason when Graph is down or mapping is turned off while it runs, changing nothing", { timeout: 60_000 }, async () => {
    const owner = await unmappedContoso();
    await edit(owner, { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "admin" });
    const error = () =>
      env.DB.prepare("select error from directory_imports where phase = 'next_run' order by started_at desc").first<string>("error");
    await emulatorAdmin("faults", { endpoint: "members", status: 500, times: 10 });
    expect((await owner.post(`${MAPPING}/next-run`, {}, { htmx: true })).status).toBe(200);
    const down = await awaitNextRunPreview(owner, 50_000);
    expect(down).toContain("The preview stopped.");
    expect(down).toContain("Microsoft Graph did not answer");
    expect(await error()).toBe("graph_unavailable");
    await emulatorAdmin("faults", undefined, "DELETE");

    // A slow page keeps the preview reading while mapping is turned off.
    await emulatorAdmin("faults", { endpoint: "members", delayMs: 1_500, times: 1 });
    expect((await owner.post(`${MAPPING}/next-run`, {}, { htmx: true })).status).toBe(200);
    await setFeature(owner, "group-role-mapping", false);
    const off = await awaitNextRunPreview(owner);
    expect(off).toContain("Group → Role mapping was turned off while it ran.");
    expect(await error()).toBe("mapping_off");
    expect(await env.DB.prepare("select count(*) as n from remap_matches").first<number>("n")).toBe(0);
    expect((await contosoRoleOf(alex.oid))?.role).toBe("member");
    // Off, the answer needs no run.
    const now = await owner.post(`${MAPPING}/next-run`, {}, { htmx: true });
    expect(await now.text()).toContain("Group → Role mapping is off");
    expect(await env.DB.prepare("select count(*) as n from directory_imports").first<number>("n")).toBe(2);
  });

  it("keeps the last 10 previews of the next run, never pushing out another kind's row", async () => {
    const owner = await unmappedContoso();
    await edit(owner, { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "admin" });
    const insert = (phase: string, startedAt: number) =>
      env.DB.prepare(
        "insert into directory_imports (id, organization_id, phase, status, scope, started_at, finished_at) values (?, ?, ?, 'succeeded', '{}', ?, ?)",
      ).bind(crypto.randomUUID(), CONTOSO, phase, startedAt, startedAt);
    // Import's preview, older than ten finished previews of the next run.
    await env.DB.batch([insert("preview", 1), ...Array.from({ length: 10 }, (_, i) => insert("next_run", 2 + i))]);
    expect((await owner.post(`${MAPPING}/next-run`, {}, { htmx: true })).status).toBe(200);
    await awaitNextRunPreview(owner);
    const kept = await env.DB.prepare("select phase, count(*) as n from directory_imports group by phase order by phase").all();
    expect(kept.results).toEqual([
      { phase: "next_run", n: 10 },
      { phase: "preview", n: 1 },
    ]);
  });
});
