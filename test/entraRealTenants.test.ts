// Connect Entra ID as Microsoft documents it: callback errors by Microsoft's table, the tenant an
// admin names, status that tells the truth, reconnecting, and the discovery document as the
// source of the issuer.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, FABRIKAM_TENANT_ID, entraUser } from "../demo/directory.ts";
import { DEMO_ORGS } from "../demo/seed.ts";
import { buildAuthorizationRequest, completeAuthorization } from "../src/auth/oauth.ts";
import { createDb } from "../src/db/client.ts";
import { graphAccessToken } from "../src/entra/tokens.ts";
import { loadConfig } from "../src/lib/config.ts";
import { TestBrowser } from "./support/browser.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { ENTRA_PAGE, connectContoso, connectEntra } from "./support/entra.ts";
import { linkMember, signedIn } from "./support/people.ts";
import { contosoAudit, resetDemoWorld } from "./support/world.ts";
import { previewImport } from "./support/imports.ts";
import { openFlow, sealFlow } from "../src/auth/flows.ts";

const FLOW_COOKIE = "__Host-uniasset_flow";

const connection = () =>
  env.DB.prepare("select * from entra_connections where organization_id = ?").bind(DEMO_ORGS.contoso.id).first<Record<string, unknown>>();

beforeEach(resetDemoWorld);

/** Starts Connect Entra ID and returns Microsoft's callback for it with `reply` instead of a code. */
async function callbackWith(browser: TestBrowser, reply: Record<string, string>): Promise<Response> {
  await browser.page(ENTRA_PAGE);
  const start = await browser.post(`${ENTRA_PAGE}/connect`);
  const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
  return browser.get(`${ENTRA_PAGE}/callback?${new URLSearchParams({ ...reply, state })}`);
}

describe("callback errors, as Microsoft documents them", () => {
  // Example bodies from learn.microsoft.com (v2-oauth2-auth-code-flow, reference-error-codes).
  const cases: {
    reply: Record<string, string> & { error: string; error_description: string };
    failure: string;
    text: string;
    stored?: string;
  }[] = [
    {
      reply: {
        error: "access_denied",
        error_subcode: "cancel",
        error_description: "AADSTS65004: User declined to consent to access the app.",
      },
      failure: "cancelled",
      text: "Either the authorization was cancelled before completing, or the Microsoft account used does not have permission to consent",
      stored: "failed",
    },
    {
      reply: { error: "consent_required", error_description: "AADSTS90094: The grant requires admin permission." },
      failure: "admin_consent_required",
      text: "The account used to authorize does not have Global Admin rights in the Entra tenant.",
    },
    {
      reply: {
        error: "interaction_required",
        error_description:
          "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication.",
      },
      failure: "interaction_required",
      text: "multi-factor authentication or a Conditional Access requirement",
    },
    {
      reply: { error: "invalid_request", error_description: "AADSTS90014: The required field 'scope' is missing." },
      failure: "invalid_request",
      text: "This is a problem on our side, not yours.",
    },
    {
      reply: { error: "unauthorized_client", error_description: "AADSTS7000112: Application is disabled." },
      failure: "unauthorized_client",
      text: "may not sign in to this tenant",
    },
    {
      reply: {
        error: "temporarily_unavailable",
        error_description: "AADSTS90006: The server is temporarily too busy to handle the request.",
      },
      failure: "temporarily_unavailable",
      text: "Microsoft is temporarily unable to handle the request.",
    },
    {
      reply: { error: "server_error", error_description: "AADSTS90033: A transient error has occurred. Please try again." },
      failure: "server_error",
      text: "Microsoft had an unexpected error",
    },
  ];
  for (const { reply, failure, text, stored } of cases) {
    it(`${reply.error} → ${failure}`, async () => {
      const adele = await signedIn("adele");
      const back = await callbackWith(adele, reply);
      const code = /AADSTS\d+/.exec(reply.error_description)![0];
      expect(back.headers.get("location")).toBe(`${ENTRA_PAGE}?failure=${failure}&code=${code}`);
      const { html } = await adele.page(back.headers.get("location")!);
      expect(html).toContain(text);
      expect(html).toContain(`Microsoft error code: ${code}`);
      // Nobody pressing Cancel is told they lack Global Admin rights.
      if (failure === "cancelled") expect(html).not.toContain("does not have Global Admin rights");
      const row = await connection();
      if (stored) expect(row?.status).toBe(stored);
      else expect(row).toBeNull();
      expect((await contosoAudit("entra.connection_failed")).map((d) => d.reason)).toEqual([failure]);
    });
  }

  it("a callback without a code, or with a malformed one, is a clear 400 and stores nothing", async () => {
    const adele = await signedIn("adele");
    for (const reply of [
      {} as Record<string, string>,
      { code: "" },
      { code: "bad code with spaces <script>" },
      { code: "x".repeat(9000) },
    ]) {
      const response = await callbackWith(adele, reply);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("missing its authorization code");
      expect(await connection()).toBeNull();
    }
  });

  it("a sign-in callback without a code is a 400, not 'provider unavailable'", async () => {
    const browser = new TestBrowser();
    const start = await browser.get("/auth/microsoft");
    const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
    const response = await browser.get(`/auth/microsoft/callback?state=${state}`);
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toContain("missing its code");
    expect(html).not.toContain("unavailable");
  });
});

describe("the tenant the admin names", () => {
  it("by tenant id: the authority becomes tenant-specific and the tenant is connected", async () => {
    const adele = await signedIn("adele");
    await adele.page(ENTRA_PAGE);
    const start = await adele.post(`${ENTRA_PAGE}/connect`, { tenant: CONTOSO_TENANT_ID.toUpperCase() });
    const authorize = new URL(start.headers.get("location")!);
    expect(authorize.pathname).toBe(`/${CONTOSO_TENANT_ID}/oauth2/v2.0/authorize`);
    const back = await adele.returnFromProvider(
      await adele.authorizeAtEmulator(start, { account: entraUser("adele").oid, consent: "accept" }),
    );
    expect(back.headers.get("location")).toBe(ENTRA_PAGE);
    expect((await connection())!.tenant_id).toBe(CONTOSO_TENANT_ID);
  });

  it("a token from another tenant than the one named connects nothing", async () => {
    const adele = await signedIn("adele");
    await adele.page(ENTRA_PAGE);
    const start = await adele.post(`${ENTRA_PAGE}/connect`, { tenant: CONTOSO_TENANT_ID });
    // As if the round trip had been started for Fabrikam: the token that comes back is Contoso's.
    const flow = (await openFlow(env.TOKEN_ENCRYPTION_KEYS, adele.cookies.get(FLOW_COOKIE)!, "connect_entra", Date.now()))!;
    adele.cookies.set(FLOW_COOKIE, await sealFlow(env.TOKEN_ENCRYPTION_KEYS, { ...flow, tenantId: FABRIKAM_TENANT_ID }));
    const back = await adele.returnFromProvider(
      await adele.authorizeAtEmulator(start, { account: entraUser("adele").oid, consent: "accept" }),
    );
    expect(back.headers.get("location")).toBe(`${ENTRA_PAGE}?failure=wrong_tenant`);
    expect(await connection()).toBeNull();
  });

  it("an unknown tenant or a malformed name gets a clear message and no round trip", async () => {
    const adele = await signedIn("adele");
    await adele.page(ENTRA_PAGE);
    const unknown = await adele.post(`${ENTRA_PAGE}/connect`, { tenant: "00000000-0000-4000-8000-000000000000" });
    expect(unknown.headers.get("location")).toBe(`${ENTRA_PAGE}?failure=unknown_tenant`);
    expect((await adele.page(unknown.headers.get("location")!)).html).toContain("Microsoft does not know the tenant you named.");
    for (const tenant of ["not a domain", "contoso", "x".repeat(300), "https://contoso.example", "contoso.example/evil"]) {
      const response = await adele.post(`${ENTRA_PAGE}/connect`, { tenant });
      expect(response.status).toBe(400);
    }
    expect(adele.cookies.has(FLOW_COOKIE)).toBe(false);
  });
});

describe("status that tells the truth", () => {
  const connectWithFeatures = () => connectContoso(["auto-provision", "auto-deprovision", "group-role-mapping"]);

  it("invalid_grant at a sign-in makes the connection 'Needs reconnect' at once, and the person is told why", async () => {
    const adele = await connectWithFeatures();
    await emulatorAdmin("grants/revoke", { tenantId: CONTOSO_TENANT_ID });
    await emulatorAdmin("access-tokens/expire");
    await env.DB.prepare("update entra_connections set access_token_expires_at = 0").run();

    const megan = await new TestBrowser().signInWithMicrosoft(entraUser("megan").oid);
    expect(megan.status).toBe(409);
    const html = await megan.text();
    expect(html).toContain("Microsoft Entra ID connection needs attention");
    expect(html).toContain("Ask your UniAsset Owner or Admin");
    expect(html).not.toContain("sign-in provider is unavailable");
    expect((await connection())!.status).toBe("needs_reconnect");

    // The next person is told the same, without another token request.
    const alex = await new TestBrowser().signInWithMicrosoft(entraUser("alex").oid);
    expect(alex.status).toBe(409);
    const page = await adele.page(ENTRA_PAGE);
    expect(page.html).toContain("Needs reconnect");
    expect(page.html).not.toContain(">Connected<");
    expect(page.html).toContain("admin consent was revoked or the sign-in grant expired");
    // Reconnecting suggests the tenant that was connected, so another account can't switch it by accident.
    expect(page.html).toContain(`name="tenant" maxlength="253" placeholder="yourcompany.com or tenant id" value="${CONTOSO_TENANT_ID}"`);

    // A cancelled reconnect does not turn "Needs reconnect" into "Failed": sign-in still explains.
    await adele.page(ENTRA_PAGE);
    await adele.returnFromProvider(await adele.authorizeAtEmulator(await adele.post(`${ENTRA_PAGE}/connect`), { cancel: true }));
    expect((await connection())!.status).toBe("needs_reconnect");
    expect((await new TestBrowser().signInWithMicrosoft(entraUser("megan").oid)).status).toBe(409);
  });

  it("reconnecting the same tenant resumes the features as they were; after Disconnect they start off", async () => {
    const adele = await connectWithFeatures();
    await emulatorAdmin("grants/revoke", { tenantId: CONTOSO_TENANT_ID });
    await env.DB.prepare("update entra_connections set access_token_expires_at = 0").run();
    await expect(graphAccessToken(createDb(env.DB), loadConfig(env), DEMO_ORGS.contoso.id)).rejects.toThrow(/needs_reconnect/);

    await connectEntra(adele);
    const resumed = (await connection())!;
    expect(resumed.status).toBe("connected");
    expect([resumed.auto_provision, resumed.auto_deprovision, resumed.group_role_mapping]).toEqual([1, 1, 1]);
    expect((await contosoAudit("entra.connected")).at(-1)).toMatchObject({ featuresResumed: true });

    await adele.post(`${ENTRA_PAGE}/disconnect`);
    await connectEntra(adele);
    const fresh = (await connection())!;
    expect([fresh.auto_provision, fresh.auto_deprovision, fresh.group_role_mapping]).toEqual([0, 0, 0]);
  });

  it("connecting another tenant turns the features off, and says so in the audit log", async () => {
    await connectWithFeatures();
    await env.DB.prepare(
      "insert into memberships (organization_id, user_id, role, status, created_at) values (?, (select id from users where display_name = 'Lee Gu'), 'admin', 'active', 1)",
    )
      .bind(DEMO_ORGS.contoso.id)
      .run();
    const lee = await signedIn("lee");
    await lee.post("/organizations/switch", { organizationId: DEMO_ORGS.contoso.id });
    await connectEntra(lee, { account: entraUser("lee").oid });
    const row = (await connection())!;
    expect(row.tenant_id).toBe(FABRIKAM_TENANT_ID);
    expect([row.auto_provision, row.auto_deprovision, row.group_role_mapping]).toEqual([0, 0, 0]);
    const changes = (await contosoAudit("entra.setting_changed")).filter((d) => d.cause);
    expect(changes.map((d) => d.setting).sort()).toEqual(["Auto-deprovision sync", "Auto-provision users", "Group → Role mapping"]);
    expect(changes.every((d) => d.enabled === false && d.cause === "another tenant was connected")).toBe(true);
  });
});

describe("Microsoft's discovery document decides the issuer and endpoints", () => {
  it("a sign-in completes when the authority host differs from the issuer's host (national clouds)", async () => {
    // 127.0.0.1 reaches the same emulator, whose discovery document names http://localhost:8788 as
    // issuer and endpoints: an issuer built from MS_AUTHORITY_HOST would not match the token.
    const config = { ...loadConfig(env), MS_AUTHORITY_HOST: "http://127.0.0.1:8788" };
    const redirectUri = `${config.APP_ORIGIN}/auth/microsoft/callback`;
    const request = await buildAuthorizationRequest("microsoft", config, { redirectUri });
    expect(request.url.origin).toBe("http://localhost:8788");
    const form = new URLSearchParams(request.url.searchParams);
    form.set("account", entraUser("adele").oid);
    const back = await env.EMULATOR.fetch(request.url.origin + request.url.pathname, { method: "POST", body: form, redirect: "manual" });
    const completed = await completeAuthorization("microsoft", config, new URL(back.headers.get("location")!), { ...request, redirectUri });
    expect(completed.claims.iss).toBe(`http://localhost:8788/${CONTOSO_TENANT_ID}/v2.0`);
    expect(completed.claims.tid).toBe(CONTOSO_TENANT_ID);
  });
});

describe("names longer than expected", () => {
  it("a 300-character group or user name is shown shortened; search, import preview and mapping keep working", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    const longName = `UniAsset ${"Very Long Group Name ".repeat(15)}`.slice(0, 300);
    const group = await emulatorAdmin<{ id: string }>("groups", { tenantId: CONTOSO_TENANT_ID, displayName: longName, memberCount: 1 });
    const user = await emulatorAdmin<{ oid: string }>("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "N".repeat(300),
      userPrincipalName: "nnn@contoso.example",
      groups: [group.id],
    });
    expect(user.oid).toBeTruthy();
    await adele.page(ENTRA_PAGE);

    const search = await adele.get(`${ENTRA_PAGE}/mapping/groups?q=UniAsset`, { "hx-request": "true" });
    expect(search.status).toBe(200);
    const html = await search.text();
    expect(html).toContain("UniAsset Admins");
    expect(html).toContain(`${longName.slice(0, 255)}…`);
    expect(html).not.toContain(longName);

    const preview = await previewImport(adele);
    expect(preview.status).toBe(200);
    expect(preview.html).toContain(`${"N".repeat(255)}…`);

    const mappingPreview = await adele.post(
      `${ENTRA_PAGE}/mapping/preview`,
      { change: "add", groupId: group.id, role: "manager" },
      { htmx: true },
    );
    expect(mappingPreview.status).toBe(200);
    const mapped = await adele.post(`${ENTRA_PAGE}/mapping/apply`, { change: "add", groupId: group.id, role: "manager" }, { htmx: true });
    expect(mapped.status).toBe(200);
    expect(await env.DB.prepare("select group_name from group_role_mappings").first("group_name")).toBe(`${longName.slice(0, 255)}…`);
  });
});

describe("who connected, and as which Entra role", () => {
  it("Adele's ID token carries wids: the page shows her Global Administrator role", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    expect((await adele.page(ENTRA_PAGE)).html).toMatch(/id="entra-connected-by">Adele Vance \(Global Administrator\) on /);
    expect((await contosoAudit("entra.connected"))[0]).toMatchObject({ entraRoles: "Global Administrator" });
  });

  it("a registration that emits no wids still connects; nothing about roles is shown or refused", async () => {
    await emulatorAdmin("registration", { groupMembershipClaims: "None" });
    const adele = await signedIn("adele");
    expect((await connectEntra(adele)).headers.get("location")).toBe(ENTRA_PAGE);
    expect((await adele.page(ENTRA_PAGE)).html).toMatch(/id="entra-connected-by">Adele Vance on /);
    expect((await connection())!.connected_by_roles).toBeNull();
  });
});

describe("a guest admin (an outside consultant)", () => {
  // Casey: a plain member of Fabrikam (her home tenant) and a guest Global Administrator in Contoso,
  // made an Admin of Contoso in UniAsset (she signs in to UniAsset with her home account).
  async function caseyAsContosoAdmin() {
    const casey = entraUser("casey");
    await linkMember("casey", { role: "admin" });
    const browser = new TestBrowser();
    expect((await browser.signInWithMicrosoft(casey.oid)).status).toBe(302);
    await browser.page(ENTRA_PAGE);
    return browser;
  }

  it("without naming the tenant, Microsoft signs her in to her home tenant, which is not Contoso", async () => {
    const casey = await caseyAsContosoAdmin();
    const start = await casey.post(`${ENTRA_PAGE}/connect`);
    expect(new URL(start.headers.get("location")!).pathname).toBe("/organizations/oauth2/v2.0/authorize");
    // Her Fabrikam account is no admin there and Fabrikam never consented: Microsoft keeps her.
    const microsoft = await casey.authorizeAtEmulator(start, { account: entraUser("casey").oid });
    expect(microsoft.status).toBe(200);
    expect(await microsoft.text()).toContain("Need admin approval");
    expect(await connection()).toBeNull();
  });

  it("naming contoso.example asks Contoso's own authority: her guest account connects Contoso", async () => {
    const casey = await caseyAsContosoAdmin();
    const start = await casey.post(`${ENTRA_PAGE}/connect`, { tenant: "Contoso.Example" });
    expect(new URL(start.headers.get("location")!).pathname).toBe(`/${CONTOSO_TENANT_ID}/oauth2/v2.0/authorize`);
    const back = await casey.returnFromProvider(
      await casey.authorizeAtEmulator(start, { account: entraUser("casey").oid, consent: "accept" }),
    );
    expect(back.headers.get("location")).toBe(ENTRA_PAGE);
    const row = (await connection())!;
    expect(row.tenant_id).toBe(CONTOSO_TENANT_ID);
    expect((await casey.page(ENTRA_PAGE)).html).toMatch(/id="entra-connected-by">Casey Morgan \(Global Administrator\) on /);

    // Her grant is refreshed at Contoso's own token endpoint, so it stays Contoso's.
    await env.DB.prepare("update entra_connections set access_token_expires_at = 0").run();
    await expect(graphAccessToken(createDb(env.DB), loadConfig(env), DEMO_ORGS.contoso.id)).resolves.toMatchObject({
      tenantId: CONTOSO_TENANT_ID,
    });
    expect((await connection())!.status).toBe("connected");
  });
});

describe("refusals are recorded and never a 500", () => {
  it("a callback started by another member of the organization is refused and audited", async () => {
    const adele = await signedIn("adele");
    await adele.page(ENTRA_PAGE);
    const start = await adele.post(`${ENTRA_PAGE}/connect`);
    await linkMember("alex", { role: "admin" });
    const alex = await signedIn("alex");
    // Alex's browser carries Adele's round trip (as if its cookie had been planted).
    alex.cookies.set("__Host-uniasset_flow", adele.cookies.get("__Host-uniasset_flow")!);
    const back = await alex.returnFromProvider(
      await alex.authorizeAtEmulator(start, { account: entraUser("adele").oid, consent: "accept" }),
    );
    expect(back.headers.get("location")).toBe(`${ENTRA_PAGE}?failure=state_mismatch`);
    expect(await connection()).toBeNull();
    expect((await contosoAudit("entra.connection_failed")).map((d) => d.reason)).toEqual(["state_mismatch"]);
  });

  it("Microsoft unreachable when a round trip starts (its discovery document) is a clear 502, not a 500", async () => {
    const adele = await signedIn("adele");
    await adele.page(ENTRA_PAGE);
    // A tenant of this test's own: the app keeps discovery documents for an hour per isolate, and the
    // files of a vitest worker share one (test/support/fileIsolation.ts), so a demo tenant's documents
    // may already be held from an earlier file, and then no request would meet the fault.
    const domain = `unreachable-${crypto.randomUUID().slice(0, 8)}.example`;
    await emulatorAdmin("synthetic-tenants", { users: 1, domain, consented: true });
    // Naming the tenant reads its document by domain; starting the round trip reads it by id: that one fails.
    await emulatorAdmin("faults", { endpoint: "discovery", status: 503, afterRequests: 1, times: 5 });
    const start = await adele.post(`${ENTRA_PAGE}/connect`, { tenant: domain });
    expect(start.status).toBe(502);
    expect(await start.text()).toContain("reach the sign-in provider. Please try again in a few minutes.");
    expect(adele.cookies.has(FLOW_COOKIE)).toBe(false);
  });
});
