// Bulk import through the real handlers against the emulator's directory.
import { SELF, env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, GROUP_IDS, entraUser } from "../demo/directory.ts";
import { DEMO_ORGS } from "../demo/seed.ts";
import { APP, TestBrowser, countRows } from "./support/browser.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { contosoAudit, resetDemoWorld } from "./support/world.ts";
import { ENTRA_PAGE, connectContoso } from "./support/entra.ts";
import { signedIn } from "./support/people.ts";

const IMPORT = `${ENTRA_PAGE}/import`;

/** Posts the form as htmx would, repeated fields (several groupIds) included. */
async function post(browser: TestBrowser, step: "preview" | "apply", fields: [string, string][]) {
  const body = new URLSearchParams([...fields, ["_csrf", browser.csrfToken!]]);
  const response = await SELF.fetch(`${APP}${IMPORT}/${step}`, {
    method: "POST",
    headers: { cookie: browser.cookieHeader(), origin: APP, "content-type": "application/x-www-form-urlencoded", "hx-request": "true" },
    body,
  });
  return { status: response.status, html: await response.text() };
}

const postGroups = (browser: TestBrowser, step: "preview" | "apply", groupIds: string[]) =>
  post(browser, step, [["scope", "groups"], ...groupIds.map((id): [string, string] => ["groupIds", id])]);

function countOf(html: string, category: string): number {
  const match = new RegExp(`data-category="${category}"><th>[^<]*</th><td class="count">(\\d+)</td>`).exec(html);
  if (!match) throw new Error(`no ${category} count in ${html.slice(0, 300)}`);
  return Number(match[1]);
}

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

describe("preview", () => {
  it("counts new, already present, guests and disabled on the demo directory, with the first names", async () => {
    const adele = await connectContoso();
    const section = await adele.get(IMPORT, { "hx-request": "true" });
    expect(await section.text()).toContain('id="entra-import"');

    const before = await snapshot();
    const { status, html } = await post(adele, "preview", [["scope", "all"]]);
    expect(status).toBe(200);
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
    expect(await snapshot()).toEqual(before); // a preview writes nothing
  });

  it("skips members whose sign-in name is outside the verified domains", async () => {
    await emulatorAdmin("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Casey Contractor",
      userPrincipalName: "casey@partner.example",
    });
    const adele = await connectContoso();
    const { html } = await post(adele, "preview", [["scope", "all"]]);
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
    const { status, html } = await post(adele, "apply", [["scope", "all"]]);
    expect(status).toBe(200);
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

    expect(await contosoAudit("entra.import_applied")).toEqual([
      {
        scope: "all",
        groups: [],
        created: 3,
        remaining: 0,
        alreadyPresent: 1,
        skippedGuests: 2,
        skippedDisabled: 1,
        skippedOutsideDomains: 0,
        roles: { member: 3 },
      },
    ]);

    const after = await snapshot();
    const again = await post(adele, "apply", [["scope", "all"]]);
    expect(again.html).toContain("0 imported, 4 already present");
    expect(await snapshot()).toEqual(after);
    const preview = await post(adele, "preview", [["scope", "all"]]);
    expect(countOf(preview.html, "new")).toBe(0);
    expect(preview.html).toContain("Nothing to import");
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
    const preview = await post(adele, "preview", [["scope", "all"]]);
    expect(preview.html).toContain("1 Admin");
    expect(preview.html).toContain("1 Manager");
    await post(adele, "apply", [["scope", "all"]]);
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
    const preview = await postGroups(adele, "preview", [GROUP_IDS.uniassetAdmins]);
    expect(preview.status).toBe(200);
    expect(preview.html).toContain("Members of UniAsset Admins");
    expect(countOf(preview.html, "new")).toBe(1);
    expect(preview.html).toContain("Alex Wilber");
    await postGroups(adele, "apply", [GROUP_IDS.uniassetAdmins]);
    expect((await contosoMember(entraUser("alex").oid))?.role).toBe("member");
    expect(await contosoMember(entraUser("megan").oid)).toBeNull();

    // Two groups at once, overlapping: each person once.
    const both = await postGroups(adele, "preview", [GROUP_IDS.uniassetManagers, GROUP_IDS.allStaff]);
    expect(countOf(both.html, "new")).toBe(2); // Megan, and Isaiah of All Staff
    expect(countOf(both.html, "present")).toBe(2);
  });

  it("reads a group of more than one page and applies a large import in chunks", async () => {
    const { id } = await emulatorAdmin<{ id: string }>("groups", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Field Engineers",
      memberCount: 1200,
    });
    const adele = await connectContoso();
    const preview = await postGroups(adele, "preview", [id]);
    expect(countOf(preview.html, "new")).toBe(1200);
    const before = await countRows("memberships");
    const first = await postGroups(adele, "apply", [id]);
    expect(first.html).toContain("1000 imported");
    expect(first.html).toContain("200 more to import");
    expect(first.html).toContain('hx-trigger="load, submit"');
    expect(await countRows("memberships")).toBe(before + 1000);
    const second = await postGroups(adele, "apply", [id]);
    expect(second.html).toContain("200 imported, 1000 already present");
    expect(second.html).not.toContain("more to import");
    expect(await countRows("memberships")).toBe(before + 1200);
    const third = await postGroups(adele, "apply", [id]);
    expect(third.html).toContain("0 imported, 1200 already present");
    expect(await countRows("memberships")).toBe(before + 1200);
  });

  it("an imported user signs in with Microsoft without an invitation and lands in Contoso", async () => {
    const adele = await connectContoso();
    await post(adele, "apply", [["scope", "all"]]);
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
      for (const step of ["preview", "apply"] as const) expect((await post(adele, step, fields)).status).toBe(400);
    }
    expect(
      (
        await postGroups(
          adele,
          "apply",
          Array.from({ length: 21 }, () => crypto.randomUUID()),
        )
      ).status,
    ).toBe(400);
    expect((await postGroups(adele, "apply", ["6a1f0c2e-4b3d-4e5f-8a9b-0000000000ff"])).status).toBe(400);
    expect(await snapshot()).toEqual(before);
    expect(await contosoAudit("entra.import_applied")).toEqual([]);
  });

  it("Graph down: a clear error and nothing imported", async () => {
    const adele = await connectContoso();
    await emulatorAdmin("faults", { endpoint: "users", status: 503, times: 10 });
    const before = await snapshot();
    const { status, html } = await post(adele, "apply", [["scope", "all"]]);
    expect(status).toBe(502);
    expect(html).toContain("Microsoft Graph could not be reached");
    expect(await snapshot()).toEqual(before);
  });

  it("is for Owners and Admins of the connected organization on Enterprise only", async () => {
    await connectContoso();
    const before = await snapshot();
    const lee = await signedIn("lee");
    expect((await lee.post(`${IMPORT}/apply`, { scope: "all" })).status).toBe(403); // Team plan
    await env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.fabrikam.id).run();
    expect((await lee.post(`${IMPORT}/apply`, { scope: "all" })).status).toBe(409); // Fabrikam is not connected
    expect((await postGroups(lee, "apply", [GROUP_IDS.uniassetAdmins])).status).toBe(409);
    expect(await snapshot()).toEqual(before);
  });
});
