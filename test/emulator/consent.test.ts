// Consent as Microsoft runs it: the tenant-wide admin consent endpoint, "Need admin approval" and its
// admin-consent-workflow variant, and guests signing in through the multi-tenant or the tenant's authority.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, entraUser, FABRIKAM_TENANT_ID } from "../../demo/directory.ts";
import {
  decodeJwt,
  EMULATOR,
  ENTRA_CALLBACK,
  GRAPH_SCOPE,
  hiddenFields,
  microsoftTokens,
  press,
  redirectParams,
  signInAs,
} from "./helpers.ts";
import { emulatorAdmin } from "../support/emulator.ts";

const SETUP_CALLBACK = `${env.APP_ORIGIN}/setup/entra/callback`;
const adele = entraUser("adele");
const megan = entraUser("megan");
const lee = entraUser("lee");
const casey = entraUser("casey");
const caseyGuest = entraUser("caseyGuest");
const DECLINED = {
  error: "access_denied",
  error_subcode: "cancel",
  error_description: "AADSTS65004: User declined to consent to access the app.",
  state: "state-123",
};

function adminConsentUrl(tenant: string, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({
    client_id: env.MS_CLIENT_ID,
    redirect_uri: SETUP_CALLBACK,
    scope: "https://graph.microsoft.com/.default",
    state: "setup-42",
    ...extra,
  });
  return `${EMULATOR}/${tenant}/v2.0/adminconsent?${params}`;
}

async function openAdminConsent(tenant: string, oid: string, extra: Record<string, string> = {}): Promise<Response> {
  const page = await fetch(adminConsentUrl(tenant, extra), { redirect: "manual" });
  expect(page.status).toBe(200);
  return press(await page.text(), { account: oid });
}

beforeEach(async () => {
  await emulatorAdmin("reset");
});

describe("admin consent endpoint", () => {
  it("signs in an admin, shows the consent page, records tenant-wide consent and redirects with admin_consent=True", async () => {
    const consentPage = await openAdminConsent("organizations", adele.oid);
    expect(consentPage.status).toBe(200);
    const html = await consentPage.text();
    expect(html).toContain("Permissions requested");
    const params = redirectParams(await press(html, { consent: "accept" }));
    expect(Object.fromEntries(params)).toEqual({
      admin_consent: "True",
      tenant: CONTOSO_TENANT_ID,
      scope: "https://graph.microsoft.com/User.Read.All https://graph.microsoft.com/Group.Read.All",
      state: "setup-42",
    });
    // Consent is now tenant-wide: a plain user of Contoso gets a code with no page.
    const { response } = await signInAs(megan.oid, { scope: GRAPH_SCOPE, redirectUri: ENTRA_CALLBACK });
    expect(redirectParams(response).get("code")).toBeTruthy();
  });

  it("redirects the documented error when the admin cancels, and when a non-admin tries", async () => {
    const cancelled = redirectParams(
      await press(await (await openAdminConsent(CONTOSO_TENANT_ID, adele.oid)).text(), { consent: "cancel" }),
    );
    // Microsoft's documented error response, field by field, trace lines included
    // (https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#error-response).
    expect([...cancelled.keys()].sort()).toEqual(["admin_consent", "error", "error_description", "state"]);
    expect(cancelled.get("admin_consent")).toBe("True");
    expect(cancelled.get("error")).toBe("consent_required");
    expect(cancelled.get("error_description")).toMatch(
      /^AADSTS65004: The resource owner or authorization server denied the request\.\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/,
    );
    expect(cancelled.get("state")).toBe("setup-42");
    const nonAdmin = redirectParams(await openAdminConsent("organizations", megan.oid));
    expect(nonAdmin.get("admin_consent")).toBe("True");
    expect(nonAdmin.get("error")).toBe("consent_required");
    expect(nonAdmin.get("error_description")).toMatch(/^AADSTS90094: /);
    expect(nonAdmin.get("tenant")).toBeNull();
    // Nothing was consented: Megan still meets Need admin approval.
    const { response } = await signInAs(megan.oid, { scope: GRAPH_SCOPE });
    expect(await response.text()).toContain("Need admin approval");
  });

  it("shows an HTML error, never a redirect, for an unknown client or an unregistered redirect_uri", async () => {
    const cases: Record<string, string>[] = [
      { client_id: "00000000-0000-0000-0000-000000000000" },
      { redirect_uri: "https://evil.example/cb" },
    ];
    for (const extra of cases) {
      const res = await fetch(adminConsentUrl("organizations", extra), { redirect: "manual" });
      expect(res.status).toBe(400);
      expect(res.headers.get("Location")).toBeNull();
      expect(await res.text()).toMatch(/AADSTS700016|AADSTS50011/);
    }
  });

  it("lets a guest who is Global Administrator in Contoso consent for Contoso through Contoso's authority only", async () => {
    const viaOrganizations = redirectParams(await openAdminConsent("organizations", casey.oid));
    expect(viaOrganizations.get("error_description")).toMatch(/^AADSTS90094/);
    const page = await openAdminConsent("contoso.example", casey.oid);
    const params = redirectParams(await press(await page.text(), { consent: "accept" }));
    expect(params.get("tenant")).toBe(CONTOSO_TENANT_ID);
  });
});

describe("need admin approval", () => {
  it("offers signing in with an admin account instead, whose consent then goes through", async () => {
    const { response } = await signInAs(megan.oid, { scope: GRAPH_SCOPE });
    const picker = await press(await response.text(), { approval: "switch" });
    const pickerHtml = await picker.text();
    expect(pickerHtml).toContain("Pick an account");
    const consent = await press(pickerHtml, { account: adele.oid });
    expect(await consent.clone().text()).toContain("Permissions requested");
    expect(redirectParams(await press(await consent.text(), { consent: "accept" })).get("code")).toBeTruthy();
  });

  it("with the admin consent workflow on, shows Approval required and records the user's request", async () => {
    await emulatorAdmin(`tenants/${CONTOSO_TENANT_ID}/admin-consent-workflow`, { enabled: true });
    const { response } = await signInAs(megan.oid, { scope: GRAPH_SCOPE });
    const html = await response.text();
    expect(html).toContain("<h1>Approval required</h1>");
    expect(html).toContain("Request approval");
    const sent = await press(html, { approval: "request", justification: "Needed for UniAsset directory sync" });
    const sentHtml = await sent.text();
    expect(sentHtml).toContain("Request sent");
    const workflow = await emulatorAdmin(`tenants/${CONTOSO_TENANT_ID}/admin-consent-workflow`, undefined, "GET");
    expect(workflow).toMatchObject({ enabled: true, requests: [{ oid: megan.oid, justification: "Needed for UniAsset directory sync" }] });
    expect(Object.fromEntries(redirectParams(await press(sentHtml, { approval: "return" })))).toEqual(DECLINED);
  });

  it("answers an admin's Cancel on the consent page exactly like the return from Need admin approval", async () => {
    const { response } = await signInAs(adele.oid, { scope: GRAPH_SCOPE });
    expect(Object.fromEntries(redirectParams(await press(await response.text(), { consent: "cancel" })))).toEqual(DECLINED);
  });
});

describe("guests and authorities", () => {
  it("gives a guest their home tenant's token through organizations and the inviting tenant's through its GUID or domain", async () => {
    const home = decodeJwt((await microsoftTokens(casey.oid, { tenant: "organizations" })).id_token as string).claims;
    expect(home).toMatchObject({ tid: FABRIKAM_TENANT_ID, oid: casey.oid, preferred_username: "casey@fabrikam.example", acct: 0 });
    expect(home).not.toHaveProperty("wids");
    for (const tenant of [CONTOSO_TENANT_ID, "contoso.example"]) {
      const tokens = await microsoftTokens(casey.oid, { tenant });
      const claims = decodeJwt(tokens.id_token as string).claims;
      expect(claims).toMatchObject({
        tid: CONTOSO_TENANT_ID,
        iss: `${EMULATOR}/${CONTOSO_TENANT_ID}/v2.0`,
        oid: caseyGuest.oid,
        preferred_username: "casey@fabrikam.example",
        acct: 1,
        wids: ["62e90394-69f5-4237-9190-012177145e10"],
      });
    }
  });

  it("serves discovery for a verified domain name with the tenant GUID's issuer, and lists accounts, not guest objects, on the multi-tenant picker", async () => {
    const config = (await (await fetch(`${EMULATOR}/fabrikam.example/v2.0/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(config.issuer).toBe(`${EMULATOR}/${FABRIKAM_TENANT_ID}/v2.0`);
    expect(config.token_endpoint).toBe(`${EMULATOR}/fabrikam.example/oauth2/v2.0/token`);
    expect((await fetch(`${EMULATOR}/nowhere.example/v2.0/.well-known/openid-configuration`)).status).toBe(400);
    const page = await fetch(
      `${EMULATOR}/organizations/oauth2/v2.0/authorize?${new URLSearchParams({ ...hiddenFields(""), client_id: env.MS_CLIENT_ID, response_type: "code", redirect_uri: `${env.APP_ORIGIN}/auth/microsoft/callback`, scope: "openid", code_challenge: "x".repeat(43), code_challenge_method: "S256" })}`,
    );
    const html = await page.text();
    expect(html.match(/Casey Morgan/g)).toHaveLength(1);
    expect(html).toContain(lee.displayName);
  });
});
