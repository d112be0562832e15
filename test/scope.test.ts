// The sync scope (issue 20): a new connection chooses every verified domain but the initial
// *.onmicrosoft.com one; the Entra page changes the scope after a preview of who it adds,
// deactivates ("left the sync scope") and reactivates (a Workflow run, polled), and saving starts
// the directory sync that applies it with every leaver rule (the hold threshold too); auto-
// provisioning at sign-in lets in only people in the scope and refuses the others with a 403 page,
// audited, in two D1 round trips. A preview past the old 100,000-user cap: scopeAtScale.test.ts.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, GROUP_IDS, entraUser } from "../demo/directory.ts";
import { DEMO_ORGS } from "../demo/seed.ts";
import { TestBrowser, countRows } from "./support/browser.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { connectContoso, ENTRA_PAGE } from "./support/entra.ts";
import { postForm } from "./events/support.ts";
import { countOf as importCount, previewImport } from "./support/imports.ts";
import { linkMember } from "./support/people.ts";
import { contosoAudit, resetDemoWorld } from "./support/world.ts";
import { nightlyRun } from "./sync/support.ts";
import { SCOPE, applyScope, awaitScopePreview, chooseScope, previewScope, scopeFields } from "./support/scope.ts";
import { measureCallback } from "./support/signInCost.ts";

const isaiah = entraUser("isaiah");

beforeEach(resetDemoWorld);

const domains = async () =>
  (
    await env.DB.prepare("select name, chosen, is_new, is_initial from sync_scope_domains where organization_id = ? order by name")
      .bind(DEMO_ORGS.contoso.id)
      .all<{ name: string; chosen: number; is_new: number; is_initial: number }>()
  ).results;

function countOf(html: string, kind: string): number {
  const match = new RegExp(`data-scope-change="${kind}"><th>[^<]*</th><td class="count">(\\d+)</td>`).exec(html);
  if (!match) throw new Error(`no ${kind} count in ${html.slice(0, 400)}`);
  return Number(match[1]);
}

const membership = (userId: string) =>
  env.DB.prepare("select status, deactivated_reason from memberships where organization_id = ? and user_id = ?")
    .bind(DEMO_ORGS.contoso.id, userId)
    .first<{ status: string; deactivated_reason: string | null }>();

describe("the domain list", () => {
  it("a new connection chooses every verified domain but the initial one; the page lists them all with checkboxes", async () => {
    const adele = await connectContoso();
    expect(await domains()).toEqual([
      { name: "contoso-uk.example", chosen: 1, is_new: 0, is_initial: 0 },
      { name: "contoso.example", chosen: 1, is_new: 0, is_initial: 0 },
      { name: "contoso.onmicrosoft.com", chosen: 0, is_new: 0, is_initial: 1 },
    ]);
    const section = await (await adele.get(SCOPE, { "hx-request": "true" })).text();
    expect(section).toContain("Everyone in the chosen domains");
    expect(section).toMatch(/name="domains" value="contoso-uk.example" checked/);
    expect(section).toMatch(/name="domains" value="contoso.onmicrosoft.com"\/?>/);
    expect(section).toContain("initial domain)");
  });

  it("reconnecting the same tenant keeps the choices; a domain added in Entra appears new and unchosen, a removed one goes", async () => {
    const adele = await connectContoso();
    await adele.page(ENTRA_PAGE);
    await chooseScope(adele, scopeFields("domains", ["contoso.example"]));
    await emulatorAdmin(`tenants/${CONTOSO_TENANT_ID}/domains`, { name: "contoso-de.example" });
    await emulatorAdmin(`tenants/${CONTOSO_TENANT_ID}/domains/contoso-uk.example`, undefined, "DELETE");
    await connectContoso();
    expect(await domains()).toEqual([
      { name: "contoso-de.example", chosen: 0, is_new: 1, is_initial: 0 },
      { name: "contoso.example", chosen: 1, is_new: 0, is_initial: 0 },
      { name: "contoso.onmicrosoft.com", chosen: 0, is_new: 0, is_initial: 1 },
    ]);
    const section = await (await adele.get(SCOPE, { "hx-request": "true" })).text();
    expect(section).toMatch(/contoso-de.example.*new/s);
  });
});

describe("each run", () => {
  it("refreshes the domain list: a domain removed in Entra goes, a new one appears new and unchosen", { timeout: 60_000 }, async () => {
    await connectContoso(["auto-deprovision"]);
    await emulatorAdmin("notifications", { drop: 1_000_000_000 });
    await emulatorAdmin(`tenants/${CONTOSO_TENANT_ID}/domains`, { name: "contoso-fr.example" });
    await emulatorAdmin(`tenants/${CONTOSO_TENANT_ID}/domains/contoso-uk.example`, undefined, "DELETE");
    const run = await nightlyRun();
    expect(run.status).toBe("succeeded");
    expect(await domains()).toEqual([
      { name: "contoso-fr.example", chosen: 0, is_new: 1, is_initial: 0 },
      { name: "contoso.example", chosen: 1, is_new: 0, is_initial: 0 },
      { name: "contoso.onmicrosoft.com", chosen: 0, is_new: 0, is_initial: 1 },
    ]);
  });
});

describe("every run keeps the scope", () => {
  async function runDone() {
    const run = await nightlyRun();
    const instance = await env.SYNC_WORKFLOW.get(run.id);
    for (let i = 0; i < 600 && (await instance.status()).status !== "complete"; i++) await new Promise((r) => setTimeout(r, 50));
    return (await env.DB.prepare("select * from sync_runs where id = ?")
      .bind(run.id)
      .first<{ id: string; deactivated: number; reactivated: number }>())!;
  }

  it("a member removed from the scope's groups is deactivated by the run (Undo brings them back); added to a group, reactivated", {
    timeout: 60_000,
  }, async () => {
    await connectContoso(["auto-deprovision"]);
    await emulatorAdmin("notifications", { drop: 1_000_000_000 });
    const megan = await linkMember("megan");
    const alex = await linkMember("alex");
    await env.DB.batch([
      env.DB.prepare("insert into sync_scopes (organization_id, mode, updated_at) values (?, 'groups', 1)").bind(DEMO_ORGS.contoso.id),
      env.DB.prepare("insert into sync_scope_groups (organization_id, group_id, display_name) values (?, ?, 'UniAsset Managers')").bind(
        DEMO_ORGS.contoso.id,
        GROUP_IDS.uniassetManagers,
      ),
      // Room under the hold threshold for Diego (disabled) and Alex.
      env.DB.prepare("update entra_connections set hold_threshold_minimum = 10 where organization_id = ?").bind(DEMO_ORGS.contoso.id),
    ]);
    const run = await runDone();
    expect(await membership(alex.userId)).toEqual({ status: "deactivated", deactivated_reason: "left_scope" });
    expect(await membership(megan.userId)).toEqual({ status: "active", deactivated_reason: null });
    expect(run.deactivated).toBe(2); // Diego, disabled; Alex, outside the scope
    const adeleBrowser = await connectContoso(["auto-deprovision"]);
    await adeleBrowser.page(ENTRA_PAGE);
    expect((await adeleBrowser.post(`${ENTRA_PAGE}/sync/runs/${run.id}/undo`, {}, { htmx: true })).status).toBe(200);
    expect(await membership(alex.userId)).toEqual({ status: "active", deactivated_reason: null });

    await runDone();
    expect(await membership(alex.userId)).toEqual({ status: "deactivated", deactivated_reason: "left_scope" });
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members`, { oid: entraUser("alex").oid });
    const back = await runDone();
    expect(back.reactivated).toBeGreaterThanOrEqual(1);
    expect(await membership(alex.userId)).toEqual({ status: "active", deactivated_reason: null });
  });
  // Domains checked by runs, and scope leavers past the hold threshold: test/sync/scopeLeavers.test.ts.
});

describe("changing the scope", () => {
  it("unticking a domain previews who leaves, then Apply's sync deactivates them (sessions ended, audited); ticking it again brings them back", {
    timeout: 60_000,
  }, async () => {
    const adele = await connectContoso();
    const { userId } = await linkMember({ issuer: CONTOSO_TENANT_ID, subject: isaiah.oid, name: isaiah.displayName, email: isaiah.mail });
    await env.DB.prepare(
      "insert into sessions (token_hash, user_id, organization_id, created_at, last_seen_at, expires_at) values ('isaiah', ?, ?, 1, 1, 9999999999999)",
    )
      .bind(userId, DEMO_ORGS.contoso.id)
      .run();
    await adele.page(ENTRA_PAGE);
    const before = await countRows("memberships");
    const started = await postForm(adele, `${SCOPE}/preview`, scopeFields("domains", ["contoso.example"]));
    expect(started.status).toBe(200);
    // The preview is a Workflow run: its fragment polls its progress until it is done.
    expect(await started.text()).toContain('hx-get="/settings/integrations/entra/scope/preview/progress"');
    const html = await awaitScopePreview(adele);
    expect(countOf(html, "deactivated")).toBe(1);
    expect(html).toContain("Isaiah Langer");
    expect(countOf(html, "added")).toBe(2); // Megan and Alex: enabled members of contoso.example, not members yet
    expect(await membership(userId)).toEqual({ status: "active", deactivated_reason: null }); // a preview writes nothing
    expect(await domains()).toContainEqual({ name: "contoso-uk.example", chosen: 1, is_new: 0, is_initial: 0 });

    // Apply names the preview (a posted list of people or a scope is never trusted), and its sync decides again.
    const applied = await applyScope(adele, html);
    expect(applied.status).toBe(200);
    expect(applied.html).toContain("Sync scope saved.");
    expect(applied.html).toContain("1 deactivated");
    expect(await membership(userId)).toEqual({ status: "deactivated", deactivated_reason: "left_scope" });
    expect(await env.DB.prepare("select count(*) as n from sessions where user_id = ?").bind(userId).first("n")).toBe(0);
    expect(await countRows("memberships")).toBe(before);
    expect(await contosoAudit("entra.scope_changed")).toEqual([
      {
        mode: "domains",
        groups: [],
        domains: ["contoso.example"],
        wouldAdd: 2,
        deactivated: 1,
        reactivated: 0,
        previewId: expect.any(String),
        runId: applied.runId,
      },
    ]);
    const users = await adele.page("/users");
    expect(users.html).toContain("left the sync scope");

    const back = await chooseScope(adele, scopeFields("domains", ["contoso.example", "contoso-uk.example"]));
    expect(back.html).toContain("1 reactivated");
    expect(await membership(userId)).toEqual({ status: "active", deactivated_reason: null });
  });

  it("never deactivates the last Owner, and refuses a bad scope or preview with 4xx, writing nothing", { timeout: 60_000 }, async () => {
    const adele = await connectContoso();
    await adele.page(ENTRA_PAGE);
    // Adele is the only Owner and in contoso.example: a scope of only the UK domain leaves her out.
    const { html } = await previewScope(adele, scopeFields("domains", ["contoso-uk.example"]));
    expect(html).toContain("The last active Owner stays active");
    expect(html).not.toContain("Adele Vance");
    await applyScope(adele, html);
    expect(
      await env.DB.prepare("select status from memberships where role = 'owner' and organization_id = ?")
        .bind(DEMO_ORGS.contoso.id)
        .first("status"),
    ).toBe("active");

    const before = { domains: await domains(), audit: await countRows("audit_events"), previews: await countRows("directory_imports") };
    for (const fields of [
      scopeFields("domains", ["elsewhere.example"]),
      scopeFields("domains", []),
      scopeFields("groups", ["contoso.example"]),
      scopeFields("everyone" as "domains", ["contoso.example"]),
      scopeFields(
        "groups",
        ["contoso.example"],
        Array.from({ length: 51 }, () => crypto.randomUUID()),
      ),
    ]) {
      expect((await postForm(adele, `${SCOPE}/preview`, fields)).status).toBe(400);
    }
    // Apply takes a preview's id only: not one, or not the latest finished preview, is refused.
    expect((await postForm(adele, `${SCOPE}/apply`, [["preview", "not-an-id"]])).status).toBe(400);
    expect((await postForm(adele, `${SCOPE}/apply`, scopeFields("domains", ["contoso.example"]))).status).toBe(400);
    expect((await postForm(adele, `${SCOPE}/apply`, [["preview", crypto.randomUUID()]])).status).toBe(409);
    expect((await adele.get(`${SCOPE}/runs/${crypto.randomUUID()}`)).status).toBe(404);
    expect({ domains: await domains(), audit: await countRows("audit_events"), previews: await countRows("directory_imports") }).toEqual(
      before,
    );
  });

  it("a change past the hold threshold is held with its list, and Apply deactivates them with Auto-deprovision off", {
    timeout: 60_000,
  }, async () => {
    const adele = await connectContoso();
    const { userId } = await linkMember({ issuer: CONTOSO_TENANT_ID, subject: isaiah.oid, name: isaiah.displayName, email: isaiah.mail });
    await env.DB.prepare("update entra_connections set hold_threshold_minimum = 0, hold_threshold_percent = 1 where organization_id = ?")
      .bind(DEMO_ORGS.contoso.id)
      .run();
    await adele.page(ENTRA_PAGE);
    const { html, runId } = await chooseScope(adele, scopeFields("domains", ["contoso.example"]));
    expect(html).toContain("The sync is held: it would deactivate 1 people");
    expect(await membership(userId)).toEqual({ status: "active", deactivated_reason: null });
    const sync = await (await adele.get(`${ENTRA_PAGE}/sync`, { "hx-request": "true" })).text();
    expect(sync).toContain("Isaiah Langer");
    expect((await adele.post(`${ENTRA_PAGE}/sync/runs/${runId}/apply`, {}, { htmx: true })).status).toBe(200);
    expect(await membership(userId)).toEqual({ status: "deactivated", deactivated_reason: "left_scope" });
  });

  it("a save while a directory sync runs is refused, saving nothing", { timeout: 60_000 }, async () => {
    const adele = await connectContoso();
    await adele.page(ENTRA_PAGE);
    const { html } = await previewScope(adele, scopeFields("domains", ["contoso.example"]));
    await env.DB.prepare(
      "insert into sync_runs (id, organization_id, trigger, status, started_at) values ('busy', ?, 'sync_now', 'running', ?)",
    )
      .bind(DEMO_ORGS.contoso.id, Date.now())
      .run();
    const before = { domains: await domains(), audit: await countRows("audit_events") };
    const refused = await applyScope(adele, html);
    expect(refused.status).toBe(409);
    expect(refused.html).toContain("A directory sync is running");
    expect({ domains: await domains(), audit: await countRows("audit_events") }).toEqual(before);
  });

  it("is for Owners and Admins", async () => {
    await connectContoso();
    const { userId } = await linkMember("megan", { role: "manager" });
    expect(userId).toBeTruthy();
    const megan = new TestBrowser();
    await megan.signInWithMicrosoft(entraUser("megan").oid);
    expect((await megan.get(SCOPE)).status).toBe(403);
  });
});

describe("sign-in", () => {
  it("with the scope 'UniAsset Managers', Megan is provisioned and Alex is refused with a 403 page, audited", async () => {
    const adele = await connectContoso(["auto-provision"]);
    await adele.page(ENTRA_PAGE);
    const applied = await chooseScope(
      adele,
      scopeFields("groups", ["contoso.example", "contoso-uk.example"], [GROUP_IDS.uniassetManagers]),
    );
    expect(applied.preview).toContain("Only members of UniAsset Managers");

    expect((await new TestBrowser().signInWithMicrosoft(entraUser("megan").oid)).status).toBe(302);
    const before = await countRows("memberships");
    const alex = await new TestBrowser().signInWithMicrosoft(entraUser("alex").oid);
    expect(alex.status).toBe(403);
    expect(await alex.text()).toContain("directory does not include you in UniAsset");
    expect(await countRows("memberships")).toBe(before);
    expect(await contosoAudit("entra.signin_outside_scope")).toEqual([
      { upn: "alex@contoso.example", oid: entraUser("alex").oid, name: "Alex Wilber" },
    ]);
  });

  it("refusing a person outside a group scope costs at most 2 D1 round trips and 1 Graph round trip", async () => {
    const adele = await connectContoso(["auto-provision"]);
    await adele.page(ENTRA_PAGE);
    await chooseScope(adele, scopeFields("groups", ["contoso.example"], [GROUP_IDS.uniassetManagers]));
    const cost = await measureCallback("microsoft", entraUser("alex").oid);
    expect(cost.status).toBe(403);
    expect(cost.d1.roundTrips).toBeLessThanOrEqual(2);
    expect(cost.graphRoundTrips).toBe(1);
  });

  it("a person in a verified domain that is not chosen is refused; the initial domain is not chosen by default", async () => {
    const adele = await connectContoso(["auto-provision"]);
    await adele.page(ENTRA_PAGE);
    await chooseScope(adele, scopeFields("domains", ["contoso.example"]));
    const refused = await new TestBrowser().signInWithMicrosoft(isaiah.oid);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("directory does not include you in UniAsset");
    const { oid } = await emulatorAdmin<{ oid: string }>("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Olive Initial",
      userPrincipalName: "olive@contoso.onmicrosoft.com",
      notify: false,
    });
    expect((await new TestBrowser().signInWithMicrosoft(oid)).status).toBe(403);
    expect((await new TestBrowser().signInWithMicrosoft(entraUser("megan").oid)).status).toBe(302);
  });
});

describe("Import", () => {
  it("offers only people in the scope: its domains, and with a group scope its groups' members", async () => {
    const adele = await connectContoso();
    await adele.page(ENTRA_PAGE);
    await chooseScope(adele, scopeFields("domains", ["contoso.example"]));
    const byDomain = (await previewImport(adele)).html;
    expect(importCount(byDomain, "new")).toBe(2); // Megan, Alex
    expect(importCount(byDomain, "outsideDomains")).toBe(1); // Isaiah, of contoso-uk.example
    expect(byDomain).toContain("Outside the sync scope");

    await chooseScope(adele, scopeFields("groups", ["contoso.example", "contoso-uk.example"], [GROUP_IDS.uniassetManagers]));
    const byGroup = (await previewImport(adele)).html;
    expect(importCount(byGroup, "new")).toBe(1);
    expect(byGroup).toContain("Megan Bowen");
    expect(byGroup).not.toContain("Alex Wilber");
    const chosenGroup = (
      await previewImport(adele, [
        ["scope", "groups"],
        ["groupIds", GROUP_IDS.allStaff],
      ])
    ).html;
    expect(importCount(chosenGroup, "new")).toBe(1); // of All Staff, only Megan is in UniAsset Managers
  });
});
