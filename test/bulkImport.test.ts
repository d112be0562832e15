// Bulk import through the real handlers against the emulator's directory: each preview and apply
// is a run of the import Workflow, followed through the progress fragment as the page polls it.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, GROUP_IDS, entraUser } from "../demo/directory.ts";
import { DEMO_ORGS } from "../demo/seed.ts";
import { TestBrowser, countRows } from "./support/browser.ts";
import { IMPORT, awaitImport, countOf, importFromDirectory, postImport, previewIdOf, previewImport } from "./support/imports.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { contosoAudit, resetDemoWorld } from "./support/world.ts";
import { ENTRA_PAGE, connectContoso, setFeature } from "./support/entra.ts";
import { signedIn } from "./support/people.ts";

const contosoMember = (oid: string) =>
  env.DB.prepare(
    `select u.display_name, u.email, u.last_sign_in_at, m.role, m.status from identities i
     join users u on u.id = i.user_id
     join memberships m on m.user_id = i.user_id and m.organization_id = ?
     where i.provider = 'microsoft' and i.issuer_key = ? and i.subject = ?`,
  )
    .bind(DEMO_ORGS.contoso.id, CONTOSO_TENANT_ID, oid)
    .first<{ display_name: string; email: string; last_sign_in_at: number | null; role: string; status: string }>();

const snapshot = async () => ({
  users: await countRows("users"),
  identities: await countRows("identities"),
  memberships: await countRows("memberships"),
  roles: (await env.DB.prepare("select user_id, role, status from memberships order by user_id").all()).results,
});

beforeEach(resetDemoWorld);

const groupFields = (groupIds: string[]): [string, string][] => [
  ["scope", "groups"],
  ...groupIds.map((id): [string, string] => ["groupIds", id]),
];
const importGroups = (browser: TestBrowser, groupIds: string[]) => importFromDirectory(browser, groupFields(groupIds));

/** "Field Engineers", 1,200 people (two Graph pages of members), in Contoso's directory; Contoso connected; a preview of the group. */
async function previewFieldEngineers() {
  const { id } = await emulatorAdmin<{ id: string }>("groups", {
    tenantId: CONTOSO_TENANT_ID,
    displayName: "Field Engineers",
    memberCount: 1200,
  });
  const adele = await connectContoso();
  const preview = await previewImport(adele, groupFields([id]));
  return { id, adele, preview };
}

describe("preview", () => {
  it("counts new, already present, guests and disabled on the demo directory, with the first names", async () => {
    const adele = await connectContoso();
    const section = await adele.get(IMPORT, { "hx-request": "true" });
    expect(await section.text()).toContain('id="entra-import"');

    const before = await snapshot();
    const started = await postImport(adele, "preview", [["scope", "all"]]);
    expect(started.status).toBe(200);
    expect(started.html).toContain('id="import-status"');
    const html = await awaitImport(adele);
    expect(countOf(html, "new")).toBe(3);
    expect(countOf(html, "present")).toBe(1);
    expect(countOf(html, "guests")).toBe(2);
    expect(countOf(html, "disabled")).toBe(1);
    expect(countOf(html, "outsideDomains")).toBe(0);
    expect(html).toContain("Megan Bowen");
    expect(html).toContain("Alex Wilber");
    expect(html).toContain("Jordan Guest");
    expect(html).toContain("Diego Siciliani");
    expect(html).toContain("Isaiah Langer"); // contoso-uk.example, Contoso's second verified domain
    expect(html).toContain("3 Member");
    expect(html).toContain("Import 3 users");
    // A preview writes no member, identity or user; its scratch rows are gone once it ends.
    expect(await snapshot()).toEqual(before);
    expect(await countRows("directory_import_people")).toBe(0);
    // A reload shows the same preview: the section reads it from the import's row.
    expect(await (await adele.get(IMPORT, { "hx-request": "true" })).text()).toContain("Import 3 users");
  });

  it("skips members whose sign-in name is outside the verified domains", async () => {
    await emulatorAdmin("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Casey Contractor",
      userPrincipalName: "casey@partner.example",
    });
    const adele = await connectContoso();
    const { html } = await previewImport(adele);
    expect(countOf(html, "outsideDomains")).toBe(1);
    expect(countOf(html, "new")).toBe(3);
    expect(html).toContain("Casey Contractor");
  });
});

describe("choosing groups", () => {
  it("searches groups by name and keeps the ones already ticked", async () => {
    const adele = await connectContoso();
    const hx = { "hx-request": "true" };
    const first = await (await adele.get(`${IMPORT}/groups?q=UniAsset`, hx)).text();
    expect(first).toContain(`type="checkbox" name="groupIds" value="${GROUP_IDS.uniassetAdmins}"`);
    expect(first).toContain("UniAsset Managers");
    const second = await (await adele.get(`${IMPORT}/groups?q=IT&groupIds=${GROUP_IDS.uniassetAdmins}`, hx)).text();
    expect(second).toMatch(new RegExp(`value="${GROUP_IDS.uniassetAdmins}" checked`));
    expect(second).toContain("UniAsset Admins");
    expect(second).toContain("IT Staff");
    expect(second).not.toContain("UniAsset Managers");
    const unknown = await adele.get(`${IMPORT}/groups?q=IT&groupIds=6a1f0c2e-4b3d-4e5f-8a9b-0000000000ff`, hx);
    expect(unknown.status).toBe(400);
  });
});

describe("apply", () => {
  it("creates Megan and Alex with the default role, not signed in yet; skips the guests Jordan and Casey, and the disabled Diego; re-running changes nothing", async () => {
    const adele = await connectContoso();
    const { status, html } = await importFromDirectory(adele);
    expect(status).toBe(200);
    expect(html).toContain("Import applied.");
    expect(html).toContain("3 imported, 1 already present, 3 skipped");

    for (const key of ["megan", "alex"]) {
      const member = await contosoMember(entraUser(key).oid);
      expect(member).toMatchObject({
        display_name: entraUser(key).displayName,
        email: entraUser(key).mail,
        role: "member",
        status: "active",
        last_sign_in_at: null,
      });
    }
    expect(await contosoMember(entraUser("jordan").oid)).toBeNull();
    expect(await contosoMember(entraUser("diego").oid)).toMatchObject({ role: "member" }); // seeded, untouched
    expect((await contosoMember(entraUser("adele").oid))?.role).toBe("owner");

    // Imported members carry their sort keys (the Users page's search finds them).
    const wrongKeys = await env.DB.prepare(
      "select count(*) as n from memberships m join users u on u.id = m.user_id where m.name_key is not lower(u.display_name) or m.email_key is not lower(u.email)",
    ).first<number>("n");
    expect(wrongKeys).toBe(0);
    expect(await adele.get("/users?q=megan", { "hx-request": "true" }).then((r) => r.text())).toContain("Megan Bowen");

    const users = await adele.page("/users");
    expect(users.html).toContain("Megan Bowen");
    expect(users.html.match(/Not signed in yet/g)?.length).toBeGreaterThanOrEqual(2);

    const [audit] = await contosoAudit("entra.import_applied");
    expect(audit).toMatchObject({
      scope: "all",
      groups: [],
      created: 3,
      alreadyPresent: 1,
      skippedGuests: 2,
      skippedDisabled: 1,
      skippedOutsideDomains: 0,
      roles: { member: 3 },
    });
    expect(await countRows("directory_import_people")).toBe(0);

    const after = await snapshot();
    const preview = await previewImport(adele);
    expect(countOf(preview.html, "new")).toBe(0);
    expect(preview.html).toContain("Nothing to import");
    expect(await snapshot()).toEqual(after);
  });

  it("applies what the directory says at Apply, not at the preview: a person imported meanwhile is skipped, one created meanwhile is added", async () => {
    const adele = await connectContoso();
    const preview = await previewImport(adele);
    expect(countOf(preview.html, "new")).toBe(3);
    // Meanwhile Megan signs in (auto-provisioned) and a new person joins the directory.
    await setFeature(adele, "auto-provision", true);
    await signedIn("megan");
    await emulatorAdmin("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Nina Newhire",
      userPrincipalName: "nina@contoso.example",
      accountEnabled: true,
    });
    const applied = await postImport(adele, "apply", [["preview", previewIdOf(preview.html)]]);
    expect(applied.status).toBe(200);
    const html = await awaitImport(adele);
    expect(html).toContain("3 imported, 2 already present");
    expect(await contosoMember(entraUser("megan").oid)).toMatchObject({ status: "active" });
    const nina = await env.DB.prepare("select count(*) as n from users where display_name = 'Nina Newhire'").first<number>("n");
    expect(nina).toBe(1);
    // The same preview cannot be applied twice: it is no longer the latest import.
    expect((await postImport(adele, "apply", [["preview", previewIdOf(preview.html)]])).status).toBe(409);
  });

  it("gives roles by group mapping when it is on (Alex admin via nested IT Staff, Megan manager); Owners untouched; Why this role shown", async () => {
    const adele = await connectContoso(["group-role-mapping"]);
    for (const [groupId, role] of [
      [GROUP_IDS.uniassetAdmins, "admin"],
      [GROUP_IDS.uniassetManagers, "manager"],
      [GROUP_IDS.allStaff, "viewer"],
    ] as const) {
      expect((await adele.post(`${ENTRA_PAGE}/mapping/apply`, { change: "add", groupId, role }, { htmx: true })).status).toBe(200);
    }
    const preview = await previewImport(adele);
    expect(preview.html).toContain("1 Admin");
    expect(preview.html).toContain("1 Manager");
    await postImport(adele, "apply", [["preview", previewIdOf(preview.html)]]);
    await awaitImport(adele);
    expect((await contosoMember(entraUser("alex").oid))?.role).toBe("admin");
    expect((await contosoMember(entraUser("megan").oid))?.role).toBe("manager");
    expect((await contosoMember(entraUser("adele").oid))?.role).toBe("owner");
    expect((await contosoMember(entraUser("diego").oid))?.role).toBe("member");

    const { html } = await adele.page("/users");
    expect(html).toContain("Why this role");
    expect(html).toContain("Member of UniAsset Admins → Admin");
    expect(html).toContain("Member of UniAsset Managers → Manager");
    expect(html).toContain("UniAsset Managers (Manager), All Staff (Viewer)");
    expect(html).toContain("Microsoft Graph read");
  });

  it("imports the members of a chosen group, nested groups included", async () => {
    const adele = await connectContoso();
    const preview = await previewImport(adele, groupFields([GROUP_IDS.uniassetAdmins]));
    expect(preview.status).toBe(200);
    expect(preview.html).toContain("Members of UniAsset Admins");
    expect(countOf(preview.html, "new")).toBe(1);
    expect(preview.html).toContain("Alex Wilber");
    await importGroups(adele, [GROUP_IDS.uniassetAdmins]);
    expect((await contosoMember(entraUser("alex").oid))?.role).toBe("member");
    expect(await contosoMember(entraUser("megan").oid)).toBeNull();

    // Two groups at once, overlapping: each person once.
    const both = await previewImport(adele, groupFields([GROUP_IDS.uniassetManagers, GROUP_IDS.allStaff]));
    expect(countOf(both.html, "new")).toBe(2); // Megan, and Isaiah of All Staff
    expect(countOf(both.html, "present")).toBe(2);
    // Applied, each is added once; the scratch rows that counted them are gone with the run.
    await postImport(adele, "apply", [["preview", previewIdOf(both.html)]]);
    expect(await awaitImport(adele)).toContain("2 imported, 2 already present");
    expect(await contosoMember(entraUser("megan").oid)).toMatchObject({ status: "active" });
    expect(await countRows("directory_import_people")).toBe(0);
  });

  it("reads a group of more than one page and adds everyone in bounded steps, with the progress counted on the row", async () => {
    const { id, adele, preview } = await previewFieldEngineers();
    expect(countOf(preview.html, "new")).toBe(1200);
    expect(preview.html).toContain("1200 directory users read");
    const before = await countRows("memberships");
    const done = await importGroups(adele, [id]);
    expect(done.html).toContain("1200 imported, 0 already present");
    expect(await countRows("memberships")).toBe(before + 1200);
    const row = await env.DB.prepare("select users_read, added, expected_users from directory_imports where phase = 'apply'").first();
    expect(row).toEqual({ users_read: 1200, added: 1200, expected_users: 1200 });
  });

  it("an imported user signs in with Microsoft without an invitation and lands in Contoso", async () => {
    const adele = await connectContoso();
    await importFromDirectory(adele);
    const home = await (await signedIn("megan")).page("/");
    expect(home.html).toContain("Welcome, Megan Bowen");
    expect(home.html).toContain("Contoso");
    expect((await contosoMember(entraUser("megan").oid))?.last_sign_in_at).not.toBeNull();
    const identities = await env.DB.prepare("select count(*) as n from identities where subject = ?")
      .bind(entraUser("megan").oid)
      .first<{ n: number }>();
    expect(identities?.n).toBe(1);
  });
});

describe("refusals", () => {
  it("rejects bad input and writes nothing", async () => {
    const adele = await connectContoso();
    const before = await snapshot();
    for (const fields of [
      [["scope", "groups"]],
      [["scope", "everyone"]],
      [
        ["scope", "groups"],
        ["groupIds", "not-a-guid"],
      ],
      [],
    ] as [string, string][][]) {
      expect((await postImport(adele, "preview", fields)).status).toBe(400);
    }
    expect((await postImport(adele, "preview", groupFields(Array.from({ length: 21 }, () => crypto.randomUUID())))).status).toBe(400);
    // A group that is not in the directory: refused before anything starts.
    expect((await postImport(adele, "preview", groupFields(["6a1f0c2e-4b3d-4e5f-8a9b-0000000000ff"]))).status).toBe(400);
    // Apply takes a preview's id, and only the latest finished preview's.
    for (const fields of [[], [["preview", "not-an-id"]], [["scope", "all"]]] as [string, string][][]) {
      expect((await postImport(adele, "apply", fields)).status).toBe(400);
    }
    expect((await postImport(adele, "apply", [["preview", crypto.randomUUID()]])).status).toBe(409);
    expect(await snapshot()).toEqual(before);
    expect(await countRows("directory_imports")).toBe(0);
    expect(await contosoAudit("entra.import_applied")).toEqual([]);
  });

  it("one import at a time: a second start while one runs is refused with a clear message", async () => {
    const adele = await connectContoso();
    // A slow Graph keeps the first preview running while the second is asked for.
    await emulatorAdmin("faults", { endpoint: "users", delayMs: 1_500, times: 1 });
    const first = await postImport(adele, "preview", [["scope", "all"]]);
    expect(first.status).toBe(200);
    expect(first.html).toContain('aria-busy="true"');
    const second = await postImport(adele, "preview", [["scope", "all"]]);
    expect(second.status).toBe(409);
    expect(second.html).toContain("An import is already running for your organization");
    expect(await countRows("directory_imports")).toBe(1);
    expect(countOf(await awaitImport(adele), "new")).toBe(3);
  });

  it("Graph down: the import stops with the reason, and a re-run skips who is already there", async () => {
    const adele = await connectContoso();
    const preview = await previewImport(adele);
    await emulatorAdmin("faults", { endpoint: "users", status: 500, times: 10 });
    const before = await snapshot();
    expect((await postImport(adele, "apply", [["preview", previewIdOf(preview.html)]])).status).toBe(200);
    const html = await awaitImport(adele, 60_000);
    expect(html).toContain("The import stopped.");
    expect(html).toContain("Microsoft Graph did not answer a page of users after several retries.");
    expect(await snapshot()).toEqual(before);
    const row = await env.DB.prepare(
      "select status, error, finished_at is not null as finished from directory_imports where phase = 'apply'",
    ).first();
    expect(row).toEqual({ status: "failed", error: "graph_unavailable", finished: 1 });
    expect(await contosoAudit("entra.import_failed")).toEqual([expect.objectContaining({ reason: "graph_unavailable", created: 0 })]);
    expect(await countRows("directory_import_people")).toBe(0);
    // Once Graph answers again, the import runs through.
    await emulatorAdmin("faults", undefined, "DELETE");
    expect((await importFromDirectory(adele)).html).toContain("3 imported");
  });

  it("a failure part-way keeps who was added, whole, and a re-run adds only the rest", async () => {
    const { id, adele, preview } = await previewFieldEngineers();
    // The group's first page (999 people) is read and added; its second page fails.
    await emulatorAdmin("faults", { endpoint: "members", status: 500, times: 10, afterRequests: 1 });
    const before = await countRows("memberships");
    await postImport(adele, "apply", [["preview", previewIdOf(preview.html)]]);
    const failed = await awaitImport(adele, 60_000);
    expect(failed).toContain("999 people were added before it stopped");
    expect(await countRows("memberships")).toBe(before + 999);
    // Each person is whole: every membership added has its identity and user.
    const orphans = await env.DB.prepare(
      "select count(*) as n from memberships m where not exists (select 1 from identities i where i.user_id = m.user_id)",
    ).first<number>("n");
    expect(orphans).toBe(0);
    expect(await countRows("directory_import_people")).toBe(0);

    await emulatorAdmin("faults", undefined, "DELETE");
    const again = await importGroups(adele, [id]);
    expect(again.html).toContain("201 imported, 999 already present");
    expect(await countRows("memberships")).toBe(before + 1200);
  });

  it("is for Owners and Admins of the connected organization on Enterprise only", async () => {
    await connectContoso();
    const before = await snapshot();
    const lee = await signedIn("lee");
    expect((await lee.post(`${IMPORT}/preview`, { scope: "all" })).status).toBe(403); // Team plan
    expect((await lee.get(`${IMPORT}/progress`)).status).toBe(403);
    await env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.fabrikam.id).run();
    expect((await lee.post(`${IMPORT}/preview`, { scope: "all" })).status).toBe(409); // Fabrikam is not connected
    expect((await postImport(lee, "preview", groupFields([GROUP_IDS.uniassetAdmins]))).status).toBe(409);
    // Another organization's preview id is not Fabrikam's.
    const contosoPreview = await env.DB.prepare("select count(*) as n from directory_imports").first<number>("n");
    expect(contosoPreview).toBe(0);
    expect(await snapshot()).toEqual(before);
  });
});
