// The Group → Role mapping editor through the real handlers, against the emulator's directory.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { GROUP_IDS, entraUser } from "../demo/directory.ts";
import { DEMO_ORGS } from "../demo/seed.ts";
import { type TestBrowser } from "./support/browser.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { contosoAudit, resetDemoWorld } from "./support/world.ts";
import { ENTRA_PAGE, connectContoso, connectEntra } from "./support/entra.ts";
import { linkMember, signedIn } from "./support/people.ts";

const MAPPING = `${ENTRA_PAGE}/mapping`;

const storedMappings = async () =>
  (
    await env.DB.prepare("select group_id, group_name, role from group_role_mappings where organization_id = ? order by group_name")
      .bind(DEMO_ORGS.contoso.id)
      .all<{ group_id: string; group_name: string; role: string }>()
  ).results;

const defaultRole = async () =>
  (
    await env.DB.prepare("select default_role from entra_connections where organization_id = ?")
      .bind(DEMO_ORGS.contoso.id)
      .first<{ default_role: string }>()
  )?.default_role;

async function apply(browser: TestBrowser, fields: Record<string, string>) {
  const response = await browser.post(`${MAPPING}/apply`, fields, { htmx: true });
  return { status: response.status, html: await response.text(), response };
}

async function preview(browser: TestBrowser, fields: Record<string, string>) {
  const response = await browser.post(`${MAPPING}/preview`, fields, { htmx: true });
  return { status: response.status, html: await response.text() };
}

beforeEach(resetDemoWorld);

describe("the editor", () => {
  it("loads as a fragment for htmx and as a page otherwise", async () => {
    const adele = await connectContoso();
    const fragment = await adele.get(MAPPING, { "hx-request": "true" });
    const html = await fragment.text();
    expect(fragment.status).toBe(200);
    expect(html).toContain('id="entra-mapping"');
    expect(html).not.toContain("<html");
    expect(html).toContain('hx-trigger="input changed delay:300ms, search"');
    expect(html).toContain("No groups are mapped yet");
    // The role choices never include Owner.
    expect(html).toContain('value="admin"');
    expect(html).not.toContain('value="owner"');
    const page = await adele.page(MAPPING);
    expect(page.html).toContain("<html");
    expect(page.html).toContain("Group → Role mapping");
  });

  it("searches the directory's groups by the start of their name", async () => {
    const adele = await connectContoso();
    const response = await adele.get(`${MAPPING}/groups?q=uniasset`, { "hx-request": "true" });
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain("UniAsset Admins");
    expect(html).toContain("UniAsset Managers");
    expect(html).toContain(`value="${GROUP_IDS.uniassetAdmins}"`);
    expect(html).not.toContain("IT Staff");
    expect(await (await adele.get(`${MAPPING}/groups?q=nothing-like-this`, { "hx-request": "true" })).text()).toContain(
      "name starts with “nothing-like-this”",
    );
  });

  it("adds, changes and removes mappings stored by group id, and sets the default role, each audited", async () => {
    const adele = await connectContoso();
    const shown = await preview(adele, { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "admin" });
    expect(shown.status).toBe(200);
    expect(shown.html).toContain("Add mapping: UniAsset Admins → Admin");
    expect(shown.html).toContain(">Save<");
    expect(await storedMappings()).toEqual([]); // a preview stores nothing

    const added = await apply(adele, { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "admin" });
    expect(added.status).toBe(200);
    expect(added.html).toContain('id="entra-mapping"');
    expect(added.html).toContain("UniAsset Admins");
    await apply(adele, { change: "add", groupId: GROUP_IDS.uniassetManagers, role: "member" });
    await apply(adele, { change: "add", groupId: GROUP_IDS.uniassetManagers, role: "manager" });
    expect(await storedMappings()).toEqual([
      { group_id: GROUP_IDS.uniassetAdmins, group_name: "UniAsset Admins", role: "admin" },
      { group_id: GROUP_IDS.uniassetManagers, group_name: "UniAsset Managers", role: "manager" },
    ]);

    expect((await apply(adele, { change: "default", role: "viewer" })).status).toBe(200);
    expect(await defaultRole()).toBe("viewer");

    const removed = await apply(adele, { change: "remove", groupId: GROUP_IDS.uniassetAdmins });
    expect(removed.status).toBe(200);
    expect(await storedMappings()).toEqual([{ group_id: GROUP_IDS.uniassetManagers, group_name: "UniAsset Managers", role: "manager" }]);

    const audit = await contosoAudit("entra.mapping_changed");
    expect(audit).toEqual([
      { change: "added", groupId: GROUP_IDS.uniassetAdmins, groupName: "UniAsset Admins", role: "admin", previousRole: null },
      { change: "added", groupId: GROUP_IDS.uniassetManagers, groupName: "UniAsset Managers", role: "member", previousRole: null },
      { change: "changed", groupId: GROUP_IDS.uniassetManagers, groupName: "UniAsset Managers", role: "manager", previousRole: "member" },
      { change: "default_role", role: "viewer", previousRole: "member" },
      { change: "removed", groupId: GROUP_IDS.uniassetAdmins, groupName: "UniAsset Admins", role: "admin" },
    ]);
  });

  it("shows a renamed group's new name and stores it", async () => {
    const adele = await connectContoso();
    await apply(adele, { change: "add", groupId: GROUP_IDS.uniassetManagers, role: "manager" });
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/rename`, { displayName: "Asset Managers EMEA" });
    const html = await (await adele.get(MAPPING, { "hx-request": "true" })).text();
    expect(html).toContain("Asset Managers EMEA");
    expect(html).not.toContain("UniAsset Managers");
    expect(await storedMappings()).toEqual([{ group_id: GROUP_IDS.uniassetManagers, group_name: "Asset Managers EMEA", role: "manager" }]);
  });
});

describe("the preview", () => {
  it("lists who would gain a role: Megan, in UniAsset Managers, would become Manager", async () => {
    await linkMember("megan", { role: "member" });
    await linkMember("alex", { role: "member" });
    const adele = await connectContoso();
    const { status, html } = await preview(adele, { change: "add", groupId: GROUP_IDS.uniassetManagers, role: "manager" });
    expect(status).toBe(200);
    expect(html).toContain("Gain (1)");
    expect(html).toContain("Megan Bowen: Member → Manager");
    expect(html).toContain("member of UniAsset Managers");
    expect(html).not.toContain("Alex Wilber:");
    expect(html).not.toContain("Adele Vance:"); // Owners never change
    expect(html).toContain("Group → Role mapping is off");
  });

  it("lists who would lose a role: removing UniAsset Admins takes Admin from Alex (nested via IT Staff)", async () => {
    await linkMember("megan", { role: "member" });
    await linkMember("alex", { role: "admin" });
    const adele = await connectContoso();
    await apply(adele, { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "admin" });
    const { html } = await preview(adele, { change: "remove", groupId: GROUP_IDS.uniassetAdmins });
    expect(html).toContain("Remove mapping: UniAsset Admins → Admin");
    expect(html).toContain("Lose (1)");
    expect(html).toContain("Alex Wilber: Admin → Member");
    expect(html).not.toContain("Megan Bowen:");

    const lowered = await preview(adele, { change: "default", role: "viewer" });
    expect(lowered.html).toContain("Default role: Member → Viewer");
    expect(lowered.html).toContain("Megan Bowen: Member → Viewer");
    expect(lowered.html).not.toContain("Alex Wilber:");
  });

  it("says so when nobody's role would change", async () => {
    const adele = await connectContoso();
    const { html } = await preview(adele, { change: "add", groupId: GROUP_IDS.itStaff, role: "member" });
    expect(html).toContain("Nobody&#39;s role would change.");
  });
});

describe("refusals", () => {
  const bad: [string, Record<string, string>][] = [
    ["an owner mapping", { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "owner" }],
    ["an unknown role", { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "superuser" }],
    ["a group id that is not a GUID", { change: "add", groupId: "UniAsset Admins", role: "admin" }],
    ["a group id with SQL in it", { change: "remove", groupId: "' or 1=1 --" }],
    ["an owner default role", { change: "default", role: "owner" }],
    ["an unknown change", { change: "everything", role: "admin" }],
  ];
  for (const [what, fields] of bad) {
    it(`rejects ${what} and stores nothing`, async () => {
      const adele = await connectContoso();
      for (const step of ["preview", "apply"]) {
        const response = await adele.post(`${MAPPING}/${step}`, fields, { htmx: true });
        expect(response.status).toBe(400);
        expect(response.headers.get("hx-retarget")).toBe("#flash");
      }
      expect(await storedMappings()).toEqual([]);
      expect(await defaultRole()).toBe("member");
      expect(await contosoAudit("entra.mapping_changed")).toEqual([]);
    });
  }

  it("rejects an oversized group name search and a group that is not in the directory", async () => {
    const adele = await connectContoso();
    const long = await adele.get(`${MAPPING}/groups?q=${"a".repeat(257)}`, { "hx-request": "true" });
    expect(long.status).toBe(400);
    expect(await long.text()).toContain("at most 256 characters");
    const unknown = await apply(adele, { change: "add", groupId: "6a1f0c2e-4b3d-4e5f-8a9b-0000000000ff", role: "admin" });
    expect(unknown.status).toBe(400);
    expect(unknown.html).toContain("That group is not in your organization");
    expect(await storedMappings()).toEqual([]);
  });

  it("is for Owners and Admins on Enterprise only", async () => {
    await linkMember("megan", { role: "manager" });
    await connectContoso();
    const megan = await signedIn("megan");
    expect((await megan.get(MAPPING)).status).toBe(403);
    expect((await megan.post(`${MAPPING}/apply`, { change: "default", role: "admin" })).status).toBe(403);
    const lee = await signedIn("lee"); // Fabrikam is on the Team plan
    expect((await lee.get(MAPPING)).status).toBe(403);
    expect((await lee.post(`${MAPPING}/apply`, { change: "default", role: "admin" })).status).toBe(403);
    expect(await defaultRole()).toBe("member");
  });

  it("a Fabrikam admin on Enterprise can neither read nor edit Contoso's mappings", async () => {
    const adele = await connectContoso();
    await apply(adele, { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "admin" });
    await env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.fabrikam.id).run();
    const lee = await signedIn("lee");
    const page = await lee.page(MAPPING);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain("UniAsset Admins");
    const attempts: Record<string, string>[] = [
      { change: "remove", groupId: GROUP_IDS.uniassetAdmins },
      { change: "add", groupId: GROUP_IDS.uniassetAdmins, role: "viewer" },
      { change: "default", role: "viewer" },
    ];
    for (const fields of attempts) {
      expect((await lee.post(`${MAPPING}/apply`, fields)).status).toBeGreaterThanOrEqual(400);
    }
    // Even with Fabrikam's own tenant connected, Contoso's group is not in Lee's directory.
    await connectEntra(lee, { account: entraUser("lee").oid });
    await lee.page(MAPPING);
    const search = await (await lee.get(`${MAPPING}/groups?q=UniAsset`, { "hx-request": "true" })).text();
    expect(search).not.toContain("UniAsset Admins");
    const foreign = await lee.post(
      `${MAPPING}/apply`,
      { change: "add", groupId: GROUP_IDS.uniassetManagers, role: "admin" },
      { htmx: true },
    );
    expect(foreign.status).toBe(400);
    expect(await storedMappings()).toEqual([{ group_id: GROUP_IDS.uniassetAdmins, group_name: "UniAsset Admins", role: "admin" }]);
    expect(await defaultRole()).toBe("member");
    const fabrikamMappings = await env.DB.prepare("select count(*) as n from group_role_mappings where organization_id = ?")
      .bind(DEMO_ORGS.fabrikam.id)
      .first<{ n: number }>();
    expect(fabrikamMappings?.n).toBe(0);
  });
});

describe("Graph failures", () => {
  it("Graph down: search, preview and Save say so clearly and nothing changes", async () => {
    await linkMember("megan", { role: "member" });
    const adele = await connectContoso();
    await emulatorAdmin("faults", { endpoint: "groups", status: 503, times: 10 });
    const search = await adele.get(`${MAPPING}/groups?q=UniAsset`, { "hx-request": "true" });
    expect(search.status).toBe(502);
    expect(search.headers.get("hx-retarget")).toBe("#flash");
    expect(await search.text()).toContain("Microsoft Graph could not be reached, so nothing was changed.");

    await emulatorAdmin("faults", { endpoint: "group", status: 503, times: 10 });
    const saved = await apply(adele, { change: "add", groupId: GROUP_IDS.uniassetManagers, role: "manager" });
    expect(saved.status).toBe(502);
    expect(saved.html).toContain("Microsoft Graph could not be reached");
    expect(await storedMappings()).toEqual([]);
    await emulatorAdmin("faults", undefined, "DELETE");

    await emulatorAdmin("faults", { endpoint: "memberOf", status: 500, times: 10 });
    const previewed = await preview(adele, { change: "add", groupId: GROUP_IDS.uniassetManagers, role: "manager" });
    expect(previewed.status).toBe(502);
    expect(await storedMappings()).toEqual([]);
    expect(await contosoAudit("entra.mapping_changed")).toEqual([]);
  });

  it("the list still shows the stored names when Graph cannot be read", async () => {
    const adele = await connectContoso();
    await apply(adele, { change: "add", groupId: GROUP_IDS.uniassetManagers, role: "manager" });
    await emulatorAdmin("faults", { endpoint: "group", status: 503, times: 10 });
    const html = await (await adele.get(MAPPING, { "hx-request": "true" })).text();
    expect(html).toContain("UniAsset Managers");
    expect(html).toContain("group names shown are the last known ones");
  });
});

describe("Why this role on Users", () => {
  const decide = (userId: string, role: string, rule: string, matched: unknown[], deciding: unknown, graphReadAt: number | null) =>
    env.DB.prepare(
      "insert or replace into role_decisions (organization_id, user_id, role, rule, matched_groups, deciding_group, graph_read_at, decided_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
    ).bind(
      DEMO_ORGS.contoso.id,
      userId,
      role,
      rule,
      JSON.stringify(matched),
      deciding ? JSON.stringify(deciding) : null,
      graphReadAt,
      Date.UTC(2026, 10, 2, 8, 30),
    );

  it("shows each member's last decision to Owners and Admins, and nothing to others", async () => {
    const { userId: megan } = await linkMember("megan", { role: "manager" });
    const { userId: alex } = await linkMember("alex", { role: "member" });
    const { userId: sam } = await linkMember("sam", { role: "viewer" });
    const managers = { id: GROUP_IDS.uniassetManagers, name: "UniAsset Managers" };
    await env.DB.batch([
      decide(
        megan,
        "manager",
        "group",
        [
          { ...managers, role: "manager" },
          { id: GROUP_IDS.allStaff, name: "All Staff", role: "viewer" },
        ],
        managers,
        Date.UTC(2026, 10, 2, 8, 29),
      ),
      decide(alex, "member", "graph_failed", [], null, null),
      decide(sam, "viewer", "default", [], null, Date.UTC(2026, 10, 2, 8, 29)),
      decide("0a000000-0000-4000-8000-0000000000a1", "owner", "owner_kept", [], null, Date.UTC(2026, 10, 2, 8, 29)),
    ]);
    const adele = await signedIn("adele");
    const { html } = await adele.page("/users");
    expect(html.match(/<summary>Why this role<\/summary>/g)?.length).toBe(4);
    expect(html).toContain("Member of UniAsset Managers → Manager");
    expect(html).toContain("Mapped groups matched: UniAsset Managers (Manager), All Staff (Viewer)");
    expect(html).toContain("Microsoft Graph read 2026-11-02 08:29 UTC");
    expect(html).toContain("Microsoft Graph could not be read; role kept");
    expect(html).toContain("Microsoft Graph not read");
    expect(html).toContain("No mapped group: default role (Viewer)");
    expect(html).toContain("Owners are never changed by mapping");
    // Diego has no decision: his row has nothing extra.
    const diegoRow = /<tr id="member-0a000000-0000-4000-8000-0000000000d1">[\s\S]*?<\/tr>/.exec(html)?.[0] ?? "";
    expect(diegoRow).toContain("Diego Siciliani");
    expect(diegoRow).not.toContain("Why this role");

    const asManager = await signedIn("megan");
    expect((await asManager.page("/users")).html).not.toContain("Why this role");
  });
});
