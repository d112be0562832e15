// The Entra connection lifecycle of the help-center article, through the real handlers.
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CONTOSO_TENANT_ID, FABRIKAM_TENANT_ID, GROUP_IDS, entraUser } from "../demo/directory.ts";
import { DEMO_ORGS, DEMO_USER_IDS } from "../demo/seed.ts";
import { createDb } from "../src/db/client.ts";
import { graphAccessToken } from "../src/entra/tokens.ts";
import { loadConfig } from "../src/lib/config.ts";
import { createTokenVault } from "../src/lib/vault.ts";
import { TestBrowser, countRows } from "./support/browser.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { contosoAudit, resetDemoWorld } from "./support/world.ts";
import { ENTRA_PAGE, connectEntra } from "./support/entra.ts";
import { mapGroup } from "./support/directory.ts";
import { addOrganization, linkMember, signedIn } from "./support/people.ts";

const connection = () =>
  env.DB.prepare("select * from entra_connections where organization_id = ?").bind(DEMO_ORGS.contoso.id).first<Record<string, unknown>>();

beforeEach(resetDemoWorld);

describe("connecting", () => {
  it("asks Microsoft for read-only delegated permissions with PKCE", async () => {
    const adele = await signedIn("adele");
    await adele.page(ENTRA_PAGE);
    const start = await adele.post(`${ENTRA_PAGE}/connect`);
    const authorize = new URL(start.headers.get("location")!);
    expect(authorize.pathname).toBe("/organizations/oauth2/v2.0/authorize");
    expect(authorize.searchParams.get("scope")!.split(" ").sort()).toEqual(
      ["Group.Read.All", "User.Read.All", "email", "offline_access", "openid", "profile"].sort(),
    );
    expect(authorize.searchParams.get("redirect_uri")).toBe("http://localhost:8787/settings/integrations/entra/callback");
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
  });

  it("shows Connected with the tenant name, verified domain, who and when; tokens are encrypted", async () => {
    const adele = await signedIn("adele");
    const back = await connectEntra(adele);
    expect(back.status).toBe(303);
    expect(back.headers.get("location")).toBe(ENTRA_PAGE);

    const { html } = await adele.page(ENTRA_PAGE);
    expect(html).toContain(">Connected<");
    expect(html).toContain("Contoso Ltd");
    expect(html).toContain("contoso.example");
    expect(html).toContain("Adele Vance");
    for (const label of ["Auto-provision users", "Auto-deprovision sync", "Group → Role mapping"]) expect(html).toContain(label);
    expect(html.match(/aria-checked="false"/g)?.length).toBe(3);

    const row = (await connection())!;
    expect(row.status).toBe("connected");
    expect(row.tenant_id).toBe(CONTOSO_TENANT_ID);
    expect(JSON.parse(String(row.verified_domains))).toEqual(["contoso.example", "contoso-uk.example", "contoso.onmicrosoft.com"]);
    expect(String(row.refresh_token_enc)).toMatch(/^v1\./);
    expect(String(row.access_token_enc)).toMatch(/^v1\./);
    const vault = createTokenVault(env.TOKEN_ENCRYPTION_KEYS);
    const refresh = await vault.open(String(row.refresh_token_enc), {
      organizationId: DEMO_ORGS.contoso.id,
      tenantId: CONTOSO_TENANT_ID,
      field: "refresh_token",
    });
    expect(refresh.ok).toBe(true);
    expect(String(row.refresh_token_enc)).not.toContain(refresh.ok ? refresh.value : "?");

    const audit = await env.DB.prepare("select action from audit_events where organization_id = ? and action = 'entra.connected'")
      .bind(DEMO_ORGS.contoso.id)
      .all();
    expect(audit.results.length).toBe(1);

    // Reloading shows the same state.
    expect((await adele.page(ENTRA_PAGE)).html).toContain("Contoso Ltd");
    expect((await adele.page("/settings/integrations")).html).toContain("Connected");
  });

  it("switches each feature on and off on its own, as an htmx fragment, audited", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    await adele.page(ENTRA_PAGE);
    const columns = {
      "auto-provision": "auto_provision",
      "auto-deprovision": "auto_deprovision",
      "group-role-mapping": "group_role_mapping",
    };
    for (const [slug, column] of Object.entries(columns)) {
      const on = await adele.post(`${ENTRA_PAGE}/features/${slug}`, { enabled: "true" }, { htmx: true });
      expect(on.status).toBe(200);
      const fragment = await on.text();
      expect(fragment).toContain('aria-checked="true"');
      expect(fragment).not.toContain("<html");
      expect(on.headers.get("HX-Trigger")).toBe("entra-settings-changed");
      const row = (await connection())!;
      expect(row[column]).toBe(1);
      for (const other of Object.values(columns).filter((c) => c !== column)) expect(row[other]).toBe(0);
      await adele.post(`${ENTRA_PAGE}/features/${slug}`, { enabled: "false" }, { htmx: true });
      expect((await connection())![column]).toBe(0);
    }
    const audit = await env.DB.prepare("select count(*) as n from audit_events where action = 'entra.setting_changed'").first<{
      n: number;
    }>();
    expect(audit?.n).toBe(6);
    expect((await adele.post(`${ENTRA_PAGE}/features/everything`, { enabled: "true" })).status).toBe(400);
    expect((await adele.post(`${ENTRA_PAGE}/features/auto-provision`, { enabled: "maybe" })).status).toBe(400);
  });
});

describe("troubleshooting cases", () => {
  it("a non-admin (Megan) in an unconsented tenant stays on Microsoft's 'Need admin approval' page; leaving it gets both remedies", async () => {
    await linkMember("megan", { role: "admin" });
    const megan = await signedIn("megan");
    await megan.page(ENTRA_PAGE);
    const start = await megan.post(`${ENTRA_PAGE}/connect`);
    const microsoft = await megan.authorizeAtEmulator(start, { account: entraUser("megan").oid });
    // Microsoft does not come back to the app: it shows its own page (AADSTS90094).
    expect(microsoft.status).toBe(200);
    expect(microsoft.headers.get("location")).toBeNull();
    const page = await microsoft.text();
    expect(page).toContain("Need admin approval");
    expect(await connection()).toBeNull();

    // "Return to the application without granting consent" is an access_denied, like a Cancel.
    const form = new URLSearchParams(new URL(start.headers.get("location")!).searchParams);
    form.set("account", entraUser("megan").oid);
    form.set("approval", "return");
    const authorize = new URL(start.headers.get("location")!);
    const back = await megan.returnFromProvider(
      await env.EMULATOR.fetch(`${authorize.origin}${authorize.pathname}`, { method: "POST", body: form, redirect: "manual" }),
    );
    expect(back.headers.get("location")).toBe(`${ENTRA_PAGE}?failure=cancelled&code=AADSTS65004`);
    const { html } = await megan.page(back.headers.get("location")!);
    expect(html).toContain(
      "Either the authorization was cancelled before completing, or the Microsoft account used does not have permission to consent",
    );
    expect(html).toContain("Ask a Global Admin in your organization to complete the connection step");
    expect(html).toContain("create a setup link below");
    expect(html).not.toContain("does not have Global Admin rights");
  });

  it("a non-admin connects a tenant whose admin consented earlier: Microsoft decides, UniAsset records", async () => {
    await emulatorAdmin("consents", { tenantId: CONTOSO_TENANT_ID });
    await linkMember("megan", { role: "admin" });
    const megan = await signedIn("megan");
    const back = await connectEntra(megan, { account: entraUser("megan").oid });
    expect(back.headers.get("location")).toBe(ENTRA_PAGE);
    const row = (await connection())!;
    expect(row.status).toBe("connected");
    const { html } = await megan.page(ENTRA_PAGE);
    expect(html).toContain(">Connected<");
    expect(html).toMatch(/id="entra-connected-by">Megan Bowen on /);
    const [connected] = await contosoAudit("entra.connected");
    expect(connected).toMatchObject({ tenantId: CONTOSO_TENANT_ID });
  });

  it("Cancel on the consent page leaves the connection failed, with Connect Entra ID offered again", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele, { consent: "cancel" });
    const { html } = await adele.page(ENTRA_PAGE);
    expect(html).toContain(">Failed<");
    expect(html).toContain(
      "Either the authorization was cancelled before completing, or the Microsoft account used does not have permission to consent",
    );
    expect(html).toContain("Connect Entra ID");
    const row = (await connection())!;
    expect(row.status).toBe("failed");
    expect(row.refresh_token_enc).toBeNull();
    expect(row.tenant_id).toBeNull();
    // Trying again works.
    await connectEntra(adele);
    expect((await connection())!.status).toBe("connected");
  });

  it("an admin who declines consent (consent_required, AADSTS65004) reads as declined, with Microsoft's remedy", async () => {
    const adele = await signedIn("adele");
    await adele.page(ENTRA_PAGE);
    const start = await adele.post(`${ENTRA_PAGE}/connect`);
    const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
    // Microsoft's documented reply when an admin declines, verbatim but for the state
    // (https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#error-response).
    const declined = new URLSearchParams({
      admin_consent: "True",
      error: "consent_required",
      error_description:
        "AADSTS65004: The resource owner or authorization server denied the request.\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\r\nCorrelation ID: 8478d534-5b2c-4325-8c2c-51395c342c89\r\nTimestamp: 2019-09-24 18:34:26Z",
      state,
    });
    const back = await adele.get(`${ENTRA_PAGE}/callback?${declined}`);
    expect(back.headers.get("location")).toBe(`${ENTRA_PAGE}?failure=consent_declined&code=AADSTS65004`);
    for (const { html } of [await adele.page(back.headers.get("location")!), await adele.page(ENTRA_PAGE)]) {
      expect(html).toContain("Consent declined");
      expect(html).toContain("An administrator declined the permissions UniAsset asked for on Microsoft&#39;s consent page");
      expect(html).toContain("Click Connect Entra ID again and accept the permissions UniAsset asks for");
      expect(html).not.toContain("does not have Global Admin rights");
    }
    // Remembered like a Cancel: failed, nothing of Microsoft's kept, Connect Entra ID offered again.
    const row = (await connection())!;
    expect(row).toMatchObject({ status: "failed", failure_reason: "consent_declined", refresh_token_enc: null, tenant_id: null });
    expect((await contosoAudit("entra.connection_failed")).map((d) => [d.reason, d.microsoftCode])).toEqual([
      ["consent_declined", "AADSTS65004"],
    ]);
    // Consent still missing for another reason keeps the admin-rights reading.
    const again = await adele.post(`${ENTRA_PAGE}/connect`);
    const needsAdmin = new URLSearchParams({
      error: "consent_required",
      error_description: "AADSTS90094: The grant requires admin permission.",
      state: new URL(again.headers.get("location")!).searchParams.get("state")!,
    });
    const admin = await adele.get(`${ENTRA_PAGE}/callback?${needsAdmin}`);
    expect(admin.headers.get("location")).toBe(`${ENTRA_PAGE}?failure=admin_consent_required&code=AADSTS90094`);
  });

  it("a state mismatch fails clearly and stores nothing", async () => {
    const adele = await signedIn("adele");
    await adele.page(ENTRA_PAGE);
    const start = await adele.post(`${ENTRA_PAGE}/connect`);
    const back = await adele.authorizeAtEmulator(start, { account: entraUser("adele").oid, consent: "accept" });
    const callback = new URL(back.headers.get("location")!);
    callback.searchParams.set("state", "tampered");
    const response = await adele.get(callback.toString());
    expect(response.headers.get("location")).toBe(`${ENTRA_PAGE}?failure=state_mismatch`);
    expect((await adele.page(response.headers.get("location")!)).html).toContain("did not match the connection you started");
    expect(await connection()).toBeNull();
  });

  it("a replayed code fails clearly and stores nothing", async () => {
    const adele = await signedIn("adele");
    await adele.page(ENTRA_PAGE);
    const first = await adele.authorizeAtEmulator(await adele.post(`${ENTRA_PAGE}/connect`), {
      account: entraUser("adele").oid,
      consent: "accept",
    });
    const used = new URL(first.headers.get("location")!);
    await adele.get(used.toString());
    await adele.post(`${ENTRA_PAGE}/disconnect`);
    const second = await adele.authorizeAtEmulator(await adele.post(`${ENTRA_PAGE}/connect`), {
      account: entraUser("adele").oid,
      consent: "accept",
    });
    const fresh = new URL(second.headers.get("location")!);
    fresh.searchParams.set("code", used.searchParams.get("code")!);
    const response = await adele.get(fresh.toString());
    expect(response.headers.get("location")).toBe(`${ENTRA_PAGE}?failure=code_rejected&code=AADSTS54005`);
    expect(await connection()).toBeNull();
  });

  for (const fault of [{ status: 503 }, { networkError: true }]) {
    it(`a token endpoint ${"status" in fault ? "5xx" : "that is unreachable"} fails clearly and stores nothing`, async () => {
      const adele = await signedIn("adele");
      await adele.page(ENTRA_PAGE);
      const back = await adele.authorizeAtEmulator(await adele.post(`${ENTRA_PAGE}/connect`), {
        account: entraUser("adele").oid,
        consent: "accept",
      });
      await emulatorAdmin("faults", { endpoint: "token", ...fault });
      const response = await adele.get(back.headers.get("location")!);
      expect(response.headers.get("location")).toBe(`${ENTRA_PAGE}?failure=provider_unavailable`);
      expect((await adele.page(response.headers.get("location")!)).html).toContain("could not reach Microsoft");
      expect(await connection()).toBeNull();
    });
  }

  it("missing tenant details show the article's advice, and a refresh fills them in", async () => {
    const adele = await signedIn("adele");
    await emulatorAdmin("faults", { endpoint: "organization", status: 500, times: 4 });
    await connectEntra(adele);
    const first = await adele.page(ENTRA_PAGE);
    expect(first.html).toContain("Tenant name or domain not showing");
    expect(first.html).toContain("If the tenant details are still missing, disconnect and reconnect");
    expect((await connection())!.status).toBe("connected");
    await emulatorAdmin("faults", undefined, "DELETE");
    const refreshed = await adele.page(ENTRA_PAGE);
    expect(refreshed.html).toContain("Contoso Ltd");
    expect(refreshed.html).not.toContain("Tenant name or domain not showing");
  });

  it("a tenant connected to one organization cannot be connected to another", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    const subsidiary = await addOrganization("Contoso Research");
    await adele.page("/");
    await adele.post("/organizations/switch", { organizationId: subsidiary });
    const back = await connectEntra(adele);
    expect(back.headers.get("location")).toBe(`${ENTRA_PAGE}?failure=tenant_taken`);
    expect((await adele.page(back.headers.get("location")!)).html).toContain(
      "This Microsoft Entra tenant is already connected to another UniAsset organization. Contact support@uniasset.app.",
    );
    const refusals = await env.DB.prepare(
      "select details from audit_events where organization_id = ? and action = 'entra.connection_failed'",
    )
      .bind(subsidiary)
      .all<{ details: string }>();
    expect(refusals.results.map((r) => JSON.parse(r.details))).toEqual([{ reason: "tenant_taken", tenantId: CONTOSO_TENANT_ID }]);
    expect(await env.DB.prepare("select count(*) as n from entra_connections where organization_id = ?").bind(subsidiary).first("n")).toBe(
      0,
    );
    const rows = await env.DB.prepare("select organization_id from entra_connections where tenant_id = ?").bind(CONTOSO_TENANT_ID).all();
    expect(rows.results).toEqual([{ organization_id: DEMO_ORGS.contoso.id }]);
  });
});

describe("reconnecting", () => {
  it("to another tenant drops the old tenant's group mappings and role decisions", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    await mapGroup(GROUP_IDS.uniassetAdmins, "UniAsset Admins", "admin");
    await env.DB.prepare("insert into memberships (organization_id, user_id, role, status, created_at) values (?, ?, 'admin', 'active', 1)")
      .bind(DEMO_ORGS.contoso.id, DEMO_USER_IDS.lee)
      .run();
    const lee = await signedIn("lee");
    await lee.post("/organizations/switch", { organizationId: DEMO_ORGS.contoso.id });
    const back = await connectEntra(lee, { account: entraUser("lee").oid });
    expect(back.headers.get("location")).toBe(ENTRA_PAGE);
    expect((await connection())!.tenant_id).toBe(FABRIKAM_TENANT_ID);
    expect((await env.DB.prepare("select count(*) as n from group_role_mappings").first<{ n: number }>())?.n).toBe(0);
  });

  it("to the same tenant keeps the mappings", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    await mapGroup(GROUP_IDS.uniassetAdmins, "UniAsset Admins", "admin");
    await connectEntra(adele);
    expect((await env.DB.prepare("select count(*) as n from group_role_mappings").first<{ n: number }>())?.n).toBe(1);
  });
});

describe("disconnecting", () => {
  it("confirms with the article's warning, removes tokens and tenant, keeps users, and Microsoft sign-in still works", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    // The switch without htmx (a plain form post) answers with a redirect back to the page.
    const on = await adele.post(`${ENTRA_PAGE}/features/auto-provision`, { enabled: "true" });
    expect([on.status, on.headers.get("location")]).toEqual([303, ENTRA_PAGE]);
    const members = await countRows("memberships");
    const disconnects = () =>
      env.DB.prepare("select count(*) as n from audit_events where action = 'entra.disconnected'").first<{ n: number }>();
    const disconnectsBefore = (await disconnects())!.n;

    const confirm = await adele.get(`${ENTRA_PAGE}/disconnect`, { "hx-request": "true" });
    const text = await confirm.text();
    expect(text).toContain("Disconnecting removes the stored token and domain.");
    expect(text).toContain("they will still be able to log in as long as their UniAsset account is active");

    expect((await adele.post(`${ENTRA_PAGE}/disconnect`)).status).toBe(303);
    expect(await connection()).toBeNull();
    expect(await countRows("memberships")).toBe(members);
    const { html } = await adele.page(ENTRA_PAGE);
    expect(html).toContain("Not connected");
    expect(html).toContain("Connect Entra ID");
    expect((await new TestBrowser().signInWithMicrosoft(entraUser("adele").oid)).status).toBe(302);
    expect((await disconnects())!.n).toBe(disconnectsBefore + 1);
  });
});

describe("access", () => {
  it("a Fabrikam admin on Enterprise cannot connect, read or disconnect Contoso's connection", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    await env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.fabrikam.id).run();
    const lee = await signedIn("lee");
    const page = await lee.page(ENTRA_PAGE);
    expect(page.html).not.toContain("Contoso Ltd");
    expect(page.html).toContain("Not connected");
    expect((await lee.post(`${ENTRA_PAGE}/disconnect`)).status).toBe(409);
    expect((await lee.post(`${ENTRA_PAGE}/features/auto-provision`, { enabled: "true" })).status).toBe(409);
    // Lee consenting for Contoso is impossible (his account is in Fabrikam); his own tenant connects to Fabrikam only.
    await connectEntra(lee, { account: entraUser("lee").oid });
    const contoso = (await connection())!;
    expect(contoso.status).toBe("connected");
    expect(contoso.auto_provision).toBe(0);
    expect(contoso.tenant_id).toBe(CONTOSO_TENANT_ID);
  });

  it("on the Team plan every connection endpoint refuses with 403", async () => {
    const lee = await signedIn("lee");
    await lee.page(ENTRA_PAGE);
    for (const path of [`${ENTRA_PAGE}/connect`, `${ENTRA_PAGE}/features/auto-provision`]) {
      expect((await lee.post(path, { enabled: "true" })).status).toBe(403);
    }
    expect((await lee.get(`${ENTRA_PAGE}/callback?code=x&state=y`)).status).toBe(403);
    // Disconnecting is allowed on any plan; Fabrikam has nothing connected.
    expect((await lee.post(`${ENTRA_PAGE}/disconnect`)).status).toBe(409);
  });

  it("after a downgrade, directory features pause and the connection can still be removed", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    await adele.post(`${ENTRA_PAGE}/features/auto-provision`, { enabled: "true" });
    await env.DB.prepare("update organizations set plan = 'team' where id = ?").bind(DEMO_ORGS.contoso.id).run();
    expect((await new TestBrowser().signInWithMicrosoft(entraUser("megan").oid)).status).toBe(403);
    const { html } = await adele.page(ENTRA_PAGE);
    expect(html).toContain("Plan required: Enterprise");
    expect(html).toContain("Contoso Ltd is still connected");
    expect((await adele.post(`${ENTRA_PAGE}/disconnect`)).status).toBe(303);
    expect(await connection()).toBeNull();
  });
});

describe("tokens", () => {
  it("uses the cached access token until due, then refreshes and stores the rotated refresh token in the same write", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    const db = createDb(env.DB);
    const config = loadConfig(env);
    const before = (await connection())!;
    const cached = await graphAccessToken(db, config, DEMO_ORGS.contoso.id);
    expect((await connection())!.refresh_token_enc).toBe(before.refresh_token_enc);

    await env.DB.prepare("update entra_connections set access_token_expires_at = 0").run();
    const refreshed = await graphAccessToken(db, config, DEMO_ORGS.contoso.id);
    expect(refreshed.accessToken).not.toBe(cached.accessToken);
    const after = (await connection())!;
    expect(after.refresh_token_enc).not.toBe(before.refresh_token_enc);
    expect(Number(after.access_token_expires_at)).toBeGreaterThan(Date.now());
  });

  it("keeps the tokens when the token endpoint refuses for another reason than the grant (invalid_client)", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    const before = (await connection())!;
    await env.DB.prepare("update entra_connections set access_token_expires_at = 0").run();
    await emulatorAdmin("faults", {
      endpoint: "token",
      status: 401,
      body: { error: "invalid_client", error_description: "AADSTS7000222: The provided client secret keys are expired." },
    });
    await expect(graphAccessToken(createDb(env.DB), loadConfig(env), DEMO_ORGS.contoso.id)).rejects.toThrow(/provider_unavailable/);
    const after = (await connection())!;
    expect(after.status).toBe("connected");
    expect(after.refresh_token_enc).toBe(before.refresh_token_enc);
    // Once the endpoint answers again, the same grant still works.
    await expect(graphAccessToken(createDb(env.DB), loadConfig(env), DEMO_ORGS.contoso.id)).resolves.toMatchObject({
      tenantId: CONTOSO_TENANT_ID,
    });
  });

  it("a revoked grant sets 'needs reconnect', shown with Connect Entra ID again", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    await emulatorAdmin("grants/revoke", { tenantId: CONTOSO_TENANT_ID });
    await env.DB.prepare("update entra_connections set access_token_expires_at = 0").run();
    await expect(graphAccessToken(createDb(env.DB), loadConfig(env), DEMO_ORGS.contoso.id)).rejects.toThrow(/needs_reconnect/);
    const row = (await connection())!;
    expect(row.status).toBe("needs_reconnect");
    expect(row.refresh_token_enc).toBeNull();
    const { html } = await adele.page(ENTRA_PAGE);
    expect(html).toContain("Needs reconnect");
    expect(html).toContain("Connect Entra ID");
  });
});

describe("secrets", () => {
  const logged: string[] = [];
  beforeEach(() => {
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    }
  });
  afterEach(() => vi.restoreAllMocks());

  it("never appear in a page, a fragment, an error or a log line", async () => {
    const adele = await signedIn("adele");
    const pages: string[] = [];
    const connectResponse = await connectEntra(adele);
    pages.push(await connectResponse.text());
    pages.push((await adele.page(ENTRA_PAGE)).html);
    pages.push(await (await adele.post(`${ENTRA_PAGE}/features/auto-provision`, { enabled: "true" }, { htmx: true })).text());
    pages.push((await adele.page("/audit")).html, (await adele.page("/settings/integrations")).html);
    await emulatorAdmin("faults", { endpoint: "token", status: 500 });
    await env.DB.prepare("update entra_connections set access_token_expires_at = 0").run();
    await graphAccessToken(createDb(env.DB), loadConfig(env), DEMO_ORGS.contoso.id).catch((error: Error) =>
      pages.push(String(error), error.message),
    );
    pages.push(await (await adele.get(`${ENTRA_PAGE}/callback?code=abc&state=def`)).text());

    const row = (await connection())!;
    const vault = createTokenVault(env.TOKEN_ENCRYPTION_KEYS);
    const context = { organizationId: DEMO_ORGS.contoso.id, tenantId: CONTOSO_TENANT_ID };
    const refresh = await vault.open(String(row.refresh_token_enc), { ...context, field: "refresh_token" });
    const access = await vault.open(String(row.access_token_enc), { ...context, field: "access_token" });
    const secrets = [
      refresh.ok ? refresh.value : "",
      access.ok ? access.value : "",
      env.MS_CLIENT_SECRET,
      env.GOOGLE_CLIENT_SECRET,
      env.TOKEN_ENCRYPTION_KEYS.split(":")[1]!,
      String(row.refresh_token_enc),
    ];
    expect(secrets.every((s) => s.length > 10)).toBe(true);
    const output = [...pages, ...logged].join("\n");
    for (const secret of secrets) expect(output).not.toContain(secret);
  });
});
