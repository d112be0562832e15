// The Azure-admin setup link: an Owner/Admin creates it, an Azure administrator with no UniAsset
// account uses it to grant tenant-wide admin consent, and the Entra page says what happened.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, FABRIKAM_TENANT_ID, entraUser } from "../demo/directory.ts";
import { DEMO_ORGS, DEMO_USER_IDS } from "../demo/seed.ts";
import { TestBrowser } from "./support/browser.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { ENTRA_PAGE, connectEntra } from "./support/entra.ts";
import { addOrganization, contosoByRole, linkMember, signedIn } from "./support/people.ts";
import { contosoAudit, resetDemoWorld } from "./support/world.ts";

beforeEach(resetDemoWorld);

const SETUP_LINK = `${ENTRA_PAGE}/setup-link`;

/** Creates a link as `browser` (htmx) and returns its URL, shown once in the fragment. */
async function createLink(browser: TestBrowser): Promise<{ url: URL; fragment: string }> {
  await browser.page(ENTRA_PAGE);
  const response = await browser.post(SETUP_LINK, {}, { htmx: true });
  expect(response.status).toBe(200);
  const fragment = await response.text();
  const url = /id="setup-link-url"[^>]*value="([^"]+)"/.exec(fragment)?.[1];
  if (!url) throw new Error(`no link in ${fragment}`);
  return { url: new URL(url), fragment };
}

/** The Azure administrator's browser: opens the link, leaves for Microsoft, returns with `reply`. */
async function useLink(url: URL, reply: (state: string) => Record<string, string>) {
  const azure = new TestBrowser();
  const page = await azure.page(url.pathname);
  expect(page.status).toBe(200);
  const leave = await azure.post(url.pathname, {}, { csrf: null });
  expect(leave.status).toBe(302);
  const consent = new URL(leave.headers.get("location")!);
  const back = await azure.get(`/setup/entra/callback?${new URLSearchParams(reply(consent.searchParams.get("state")!))}`);
  return { azure, page, consent, back, html: await back.text() };
}

const granted = (tenant: string) => (state: string) => ({
  admin_consent: "True",
  tenant,
  scope: "https://graph.microsoft.com/User.Read.All https://graph.microsoft.com/Group.Read.All",
  state,
});

describe("creating a setup link", () => {
  it("shows a 256-bit link once; only its hash is stored; creating another revokes the first; audited", async () => {
    const adele = await signedIn("adele");
    const { url, fragment } = await createLink(adele);
    expect(url.origin).toBe("http://localhost:8787");
    const token = url.pathname.split("/").at(-1)!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes
    expect(fragment).toContain("Send this link to your Azure administrator.");
    const rows = await env.DB.prepare("select * from entra_setup_links").all<Record<string, unknown>>();
    expect(rows.results).toHaveLength(1);
    expect(JSON.stringify(rows.results)).not.toContain(token);
    expect(Number(rows.results[0]!.expires_at) - Number(rows.results[0]!.created_at)).toBe(7 * 24 * 60 * 60 * 1000);

    // The page never shows the link again, only that one is waiting.
    const { html } = await adele.page(ENTRA_PAGE);
    expect(html).not.toContain(token);
    expect(html).toContain("is waiting for your Azure administrator");

    const second = await createLink(adele);
    expect((await new TestBrowser().get(url.pathname)).status).toBe(409);
    expect((await new TestBrowser().get(second.url.pathname)).status).toBe(200);
    expect(await contosoAudit("entra.setup_link_created")).toHaveLength(2);
  });

  it("six created at once: exactly one stays open, and only its URL opens (issue 18)", { timeout: 30_000 }, async () => {
    const adele = await signedIn("adele");
    await adele.page(ENTRA_PAGE);
    const responses = await Promise.all(Array.from({ length: 6 }, () => adele.post(SETUP_LINK, {}, { htmx: true })));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const urls = await Promise.all(responses.map(async (r) => /id="setup-link-url"[^>]*value="([^"]+)"/.exec(await r.text())?.[1]));
    const open = await env.DB.prepare(
      "select count(*) as n from entra_setup_links where organization_id = ? and revoked_at is null and used_at is null",
    )
      .bind(DEMO_ORGS.contoso.id)
      .first<{ n: number }>();
    expect(open?.n).toBe(1);
    const answers = await Promise.all(urls.map(async (url) => (await new TestBrowser().get(new URL(url!).pathname)).status));
    expect(answers.filter((status) => status === 200)).toHaveLength(1);
    expect(answers.filter((status) => status === 409)).toHaveLength(5);
    // Each creation names the links it replaced: together, the five that are no longer open.
    const replaced = (await contosoAudit("entra.setup_link_created")).flatMap((details) =>
      String(details.replacedLinkIds ?? "")
        .split(", ")
        .filter(Boolean),
    );
    expect(new Set(replaced).size).toBe(5);
  });

  it("at most one open link per organization is the database's rule too (migrations/0019)", async () => {
    const adele = await signedIn("adele");
    await createLink(adele);
    const insert = env.DB.prepare(
      "insert into entra_setup_links (id, organization_id, token_hash, created_by, created_at, expires_at) values (?, ?, ?, ?, 1, 9999999999999)",
    ).bind(crypto.randomUUID(), DEMO_ORGS.contoso.id, crypto.randomUUID(), DEMO_USER_IDS.adele);
    await expect(insert.run()).rejects.toThrow(/UNIQUE/);
  });

  it("only Owners and Admins on Enterprise may create or revoke one", async () => {
    const people = await contosoByRole();
    for (const role of ["manager", "member", "viewer"] as const) {
      await people[role].page("/");
      expect((await people[role].post(SETUP_LINK)).status).toBe(403);
    }
    await createLink(people.admin);
    const lee = await signedIn("lee"); // Fabrikam, Team plan
    await lee.page(ENTRA_PAGE);
    expect((await lee.post(SETUP_LINK)).status).toBe(403);
    expect(await env.DB.prepare("select count(*) as n from entra_setup_links").first("n")).toBe(1);
  });

  it("revoking ends the link; another organization's admin cannot revoke it", async () => {
    const adele = await signedIn("adele");
    const { url } = await createLink(adele);
    const id = String(await env.DB.prepare("select id from entra_setup_links").first("id"));
    await env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.fabrikam.id).run();
    const lee = await signedIn("lee");
    await lee.page(ENTRA_PAGE);
    expect((await lee.post(`${SETUP_LINK}/${id}/revoke`)).status).toBe(409);
    expect((await new TestBrowser().get(url.pathname)).status).toBe(200);

    const revoke = await adele.post(`${SETUP_LINK}/${id}/revoke`, {}, { htmx: true });
    expect(revoke.status).toBe(200);
    expect(await revoke.text()).toContain("Create setup link");
    const opened = await new TestBrowser().page(url.pathname);
    expect(opened.status).toBe(409);
    expect(opened.html).toContain("This setup link was revoked.");
    expect(await contosoAudit("entra.setup_link_revoked")).toEqual([{ linkId: id }]);
    expect((await adele.post(`${SETUP_LINK}/not-a-uuid/revoke`)).status).toBe(400);
  });
});

describe("the Azure administrator's side", () => {
  it("names the organization and the permissions, and leads to Microsoft's admin consent endpoint", async () => {
    const { url } = await createLink(await signedIn("adele"));
    const azure = new TestBrowser();
    const page = await azure.page(url.pathname);
    expect(page.html).toContain("Connect Contoso to UniAsset");
    expect(page.html).toContain("User.Read.All");
    expect(page.html).toContain("Group.Read.All");
    expect(page.html).toContain("Adele Vance");
    // Opening the page writes nothing (link previewers open links too) and starts no round trip.
    expect(azure.cookies.has("__Host-uniasset_flow")).toBe(false);

    const leave = await azure.post(url.pathname, {}, { csrf: null });
    const consent = new URL(leave.headers.get("location")!);
    expect(consent.pathname).toBe("/organizations/v2.0/adminconsent");
    expect(consent.searchParams.get("client_id")).toBe(env.MS_CLIENT_ID);
    expect(consent.searchParams.get("redirect_uri")).toBe("http://localhost:8787/setup/entra/callback");
    // Everything Connect will ask for, OpenID scopes included: a partial grant would stop Connect.
    expect(consent.searchParams.get("scope")!.split(" ").sort()).toEqual([
      "Group.Read.All",
      "User.Read.All",
      "email",
      "offline_access",
      "openid",
      "profile",
    ]);
    expect(consent.searchParams.get("state")!.length).toBeGreaterThanOrEqual(43);
    expect(await contosoAudit("entra.setup_consent_started")).toHaveLength(1);
  });

  it("pressing the button again and again audits one departure per 10 minutes, and each still leads to Microsoft", async () => {
    const { url } = await createLink(await signedIn("adele"));
    const azure = new TestBrowser();
    for (let i = 0; i < 5; i++) {
      const leave = await azure.post(url.pathname, {}, { csrf: null });
      expect(new URL(leave.headers.get("location")!).pathname).toBe("/organizations/v2.0/adminconsent");
    }
    expect(await contosoAudit("entra.setup_consent_started")).toHaveLength(1);
    // Ten minutes later (the mark moved back), a departure is audited again.
    await env.DB.prepare("update entra_setup_links set consent_started_at = consent_started_at - 600001").run();
    await azure.post(url.pathname, {}, { csrf: null });
    expect(await contosoAudit("entra.setup_consent_started")).toHaveLength(2);
  });

  it("consent granted: a clear page, the link is used up, and the Entra page tells the admins to finish", async () => {
    const adele = await signedIn("adele");
    const { url } = await createLink(adele);
    const { back, html } = await useLink(url, granted(CONTOSO_TENANT_ID));
    expect(back.status).toBe(200);
    expect(html).toContain("Admin consent granted");
    expect(html).toContain("Connect Entra ID");
    const link = await env.DB.prepare("select used_at, consented_tenant_id from entra_setup_links").first<{
      used_at: number;
      consented_tenant_id: string;
    }>();
    expect(link?.used_at).toBeGreaterThan(0);
    expect(link?.consented_tenant_id).toBe(CONTOSO_TENANT_ID);
    expect(await contosoAudit("entra.setup_consent_granted")).toEqual([
      expect.objectContaining({ tenantId: CONTOSO_TENANT_ID, by: "Azure administrator (setup link)" }),
    ]);

    const entra = await adele.page(ENTRA_PAGE);
    expect(entra.html).toMatch(/Your Azure administrator granted consent on .* — click Connect Entra ID to finish\./);
    // The Connect step suggests the consented tenant.
    expect(entra.html).toContain(`name="tenant" maxlength="253" placeholder="yourcompany.com or tenant id" value="${CONTOSO_TENANT_ID}"`);

    // Used: single use.
    const again = await new TestBrowser().page(url.pathname);
    expect(again.status).toBe(409);
    expect(again.html).toContain("This setup link was already used");
  });

  it("a declined consent says so in the article's words; the link stays open and the admins are told", async () => {
    const adele = await signedIn("adele");
    const { url } = await createLink(adele);
    const { back, html } = await useLink(url, (state) => ({
      error: "access_denied",
      error_description: "AADSTS65004: User declined to consent to access the app.",
      error_subcode: "cancel",
      state,
    }));
    expect(back.status).toBe(200);
    expect(html).toContain("Admin consent was not granted");
    expect(html).toContain("The authorization was cancelled before completing");
    expect(html).toContain("The Microsoft account used does not have permission to consent");
    expect(html).toContain("Microsoft error code: AADSTS65004");
    expect(await env.DB.prepare("select used_at from entra_setup_links").first("used_at")).toBeNull();
    expect(await contosoAudit("entra.setup_consent_failed")).toEqual([
      expect.objectContaining({ reason: "declined", microsoftCode: "AADSTS65004" }),
    ]);
    expect((await adele.page(ENTRA_PAGE)).html).toContain(
      "attempt did not grant consent: it was cancelled, or the account used does not have permission to consent",
    );
    expect((await new TestBrowser().get(url.pathname)).status).toBe(200);
  });

  it("consent for a tenant connected to another organization changes nothing here", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    const subsidiary = await addOrganization("Contoso Labs");
    await adele.page("/");
    await adele.post("/organizations/switch", { organizationId: subsidiary });
    const { url } = await createLink(adele);
    const { html } = await useLink(url, granted(CONTOSO_TENANT_ID));
    expect(html).toContain(
      "This Microsoft Entra tenant is already connected to another UniAsset organization. Contact support@uniasset.app.",
    );
    expect(await env.DB.prepare("select used_at from entra_setup_links").first("used_at")).toBeNull();
    expect(await env.DB.prepare("select count(*) as n from entra_connections where organization_id = ?").bind(subsidiary).first("n")).toBe(
      0,
    );
    const failed = await env.DB.prepare(
      "select details from audit_events where organization_id = ? and action = 'entra.setup_consent_failed'",
    )
      .bind(subsidiary)
      .first<{ details: string }>();
    expect(JSON.parse(failed!.details)).toMatchObject({ reason: "tenant_taken", tenantId: CONTOSO_TENANT_ID });
  });

  it("forged, expired and tampered links or replies get clear pages and change nothing", async () => {
    const adele = await signedIn("adele");
    const { url } = await createLink(adele);
    const azure = new TestBrowser();
    expect((await azure.page("/setup/entra/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).status).toBe(404);
    expect((await azure.page("/setup/entra/short")).status).toBe(404);
    expect((await azure.post("/setup/entra/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", {}, { csrf: null })).status).toBe(404);
    // A cross-site POST is refused before anything is written.
    expect((await azure.post(url.pathname, {}, { csrf: null, origin: "https://evil.example" })).status).toBe(403);
    expect(azure.cookies.has("__Host-uniasset_flow")).toBe(false);

    // A reply whose state is not the browser's own.
    await azure.post(url.pathname, {}, { csrf: null });
    const wrongState = await azure.get(`/setup/entra/callback?${new URLSearchParams(granted(CONTOSO_TENANT_ID)("forged-state"))}`);
    expect(wrongState.status).toBe(400);
    // A reply that is neither a grant nor an error.
    await azure.post(url.pathname, {}, { csrf: null });
    expect((await azure.get("/setup/entra/callback?admin_consent=True&tenant=not-a-guid&state=x")).status).toBe(400);
    // A reply without the browser that started it.
    expect((await new TestBrowser().get(`/setup/entra/callback?${new URLSearchParams(granted(CONTOSO_TENANT_ID)("x"))}`)).status).toBe(400);
    expect(await env.DB.prepare("select used_at from entra_setup_links").first("used_at")).toBeNull();

    // Expired.
    await env.DB.prepare("update entra_setup_links set expires_at = ?")
      .bind(Date.now() - 1)
      .run();
    const expired = await azure.page(url.pathname);
    expect(expired.status).toBe(409);
    expect(expired.html).toContain("This setup link has expired");
    expect(await contosoAudit("entra.setup_consent_granted")).toHaveLength(0);
  });
});

describe("after consent", () => {
  it("a UniAsset Admin who is not an Entra admin finishes with Connect Entra ID", async () => {
    await linkMember("megan", { role: "admin" });
    const megan = await signedIn("megan");
    const { url } = await createLink(megan);
    await useLink(url, granted(CONTOSO_TENANT_ID));
    // The emulator stands in for Microsoft recording the tenant-wide consent the grant reported.
    await emulatorAdmin("consents", { tenantId: CONTOSO_TENANT_ID });
    const back = await connectEntra(megan, { account: entraUser("megan").oid });
    expect(back.headers.get("location")).toBe(ENTRA_PAGE);
    const { html } = await megan.page(ENTRA_PAGE);
    expect(html).toContain(">Connected<");
    expect(html).toContain("Megan Bowen");
    expect(html).not.toContain("granted consent on");
  });

  it("Fabrikam's consent does not show on Contoso's page", async () => {
    const adele = await signedIn("adele");
    const { url } = await createLink(adele);
    await useLink(url, granted(FABRIKAM_TENANT_ID));
    await env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.fabrikam.id).run();
    const lee = await signedIn("lee");
    expect((await lee.page(ENTRA_PAGE)).html).not.toContain("granted consent on");
  });
});

describe("through Microsoft's admin consent endpoint (the emulator)", () => {
  it("Nestor (no Entra admin) connects Northwind after Nancy, its Global Admin, used his link", async () => {
    const nestor = new TestBrowser();
    expect((await nestor.signInWithMicrosoft(entraUser("nestor").oid)).status).toBe(302);
    const { url } = await createLink(nestor);

    const azure = new TestBrowser();
    await azure.page(url.pathname);
    const leave = await azure.post(url.pathname, {}, { csrf: null });
    const consent = new URL(leave.headers.get("location")!);
    const form = new URLSearchParams(consent.searchParams);
    form.set("account", entraUser("nancy").oid);
    const consentPage = await env.EMULATOR.fetch(`${consent.origin}${consent.pathname}`, {
      method: "POST",
      body: form,
      redirect: "manual",
    });
    expect(consentPage.status).toBe(200);
    form.set("consent", "accept");
    const back = await env.EMULATOR.fetch(`${consent.origin}${consent.pathname}`, { method: "POST", body: form, redirect: "manual" });
    const outcome = await azure.page(back.headers.get("location")!);
    expect(outcome.html).toContain("Admin consent granted");

    const entra = await nestor.page(ENTRA_PAGE);
    expect(entra.html).toContain("click Connect Entra ID to finish");
    // No admin rights, no consent page: Microsoft lets him through now that the tenant consented.
    const connected = await connectEntra(nestor, { account: entraUser("nestor").oid });
    expect(connected.headers.get("location")).toBe(ENTRA_PAGE);
    const page = await nestor.page(ENTRA_PAGE);
    expect(page.html).toContain("Northwind Traders");
    expect(page.html).toMatch(/id="entra-connected-by">Nestor Wilke on /);
  });
});

describe("review fixes", () => {
  it("a guest administrator names the tenant: Microsoft is asked at that tenant's own authority, and only its consent counts", async () => {
    const { url } = await createLink(await signedIn("adele"));
    const azure = new TestBrowser();
    await azure.page(url.pathname);
    const leave = await azure.post(url.pathname, { tenant: "contoso.example" }, { csrf: null });
    const consent = new URL(leave.headers.get("location")!);
    expect(consent.pathname).toBe(`/${CONTOSO_TENANT_ID}/v2.0/adminconsent`);
    const state = consent.searchParams.get("state")!;
    const other = await azure.get(`/setup/entra/callback?${new URLSearchParams(granted(FABRIKAM_TENANT_ID)(state))}`);
    expect(other.status).toBe(400);
    expect(await env.DB.prepare("select used_at from entra_setup_links").first("used_at")).toBeNull();
    // An unknown tenant is a clear 400 before anything is written.
    const flows = await env.DB.prepare("select count(*) as n from used_flow_states").first("n");
    const cookie = azure.cookies.get("__Host-uniasset_flow");
    expect((await azure.post(url.pathname, { tenant: "nosuch.example" }, { csrf: null })).status).toBe(400);
    expect(await env.DB.prepare("select count(*) as n from used_flow_states").first("n")).toBe(flows);
    expect(azure.cookies.get("__Host-uniasset_flow")).toBe(cookie); // no round trip started
  });

  it("a link closed while the admin was at Microsoft records that Microsoft reported consent", async () => {
    const adele = await signedIn("adele");
    const { url } = await createLink(adele);
    const azure = new TestBrowser();
    const leave = await azure.post(url.pathname, {}, { csrf: null });
    const state = new URL(leave.headers.get("location")!).searchParams.get("state")!;
    await env.DB.prepare("update entra_setup_links set revoked_at = ?").bind(Date.now()).run();
    const back = await azure.get(`/setup/entra/callback?${new URLSearchParams(granted(CONTOSO_TENANT_ID)(state))}`);
    expect(back.status).toBe(409);
    expect(await contosoAudit("entra.setup_consent_failed")).toEqual([
      expect.objectContaining({ reason: "link_revoked", reportedTenantId: CONTOSO_TENANT_ID }),
    ]);
    expect(await contosoAudit("entra.setup_consent_granted")).toEqual([]);
  });

  it("a new link names the one it replaced; connecting revokes an open link; a link stops working off Enterprise", async () => {
    const adele = await signedIn("adele");
    await createLink(adele);
    const first = String(await env.DB.prepare("select id from entra_setup_links").first("id"));
    const { url } = await createLink(adele);
    expect((await contosoAudit("entra.setup_link_created")).at(-1)).toMatchObject({ replacedLinkIds: first });

    await env.DB.prepare("update organizations set plan = 'team' where id = ?").bind(DEMO_ORGS.contoso.id).run();
    const offPlan = await new TestBrowser().page(url.pathname);
    expect(offPlan.status).toBe(409);
    expect(offPlan.html).toContain("no longer on the Enterprise plan");
    await env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.contoso.id).run();

    await connectEntra(adele);
    expect((await new TestBrowser().page(url.pathname)).status).toBe(409);
    expect(
      await env.DB.prepare("select count(*) as n from entra_setup_links where revoked_at is null and used_at is null").first("n"),
    ).toBe(0);
  });

  it("consent for a tenant connected elsewhere closes the link: it cannot probe a second tenant", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    const labs = await addOrganization("Contoso Labs", DEMO_USER_IDS.adele);
    await adele.page("/");
    await adele.post("/organizations/switch", { organizationId: labs });
    const { url } = await createLink(adele);
    expect((await useLink(url, granted(CONTOSO_TENANT_ID))).html).toContain("already connected to another UniAsset organization");
    expect((await new TestBrowser().page(url.pathname)).status).toBe(409);
    expect((await adele.page(ENTRA_PAGE)).html).toContain("so the link was closed");
  });
});
