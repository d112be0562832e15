// Auto-provisioning at Microsoft sign-in: only members of the connected tenant, by UPN in a
// verified domain as Graph reports it, never guests, never another tenant, only with the toggle on.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, FABRIKAM_TENANT_ID, entraUser } from "../demo/directory.ts";
import { DEMO_ORGS } from "../demo/seed.ts";
import { TestBrowser, countRows } from "./support/browser.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { contosoRoleOf } from "./support/directory.ts";
import { signedIn } from "./support/people.ts";
import { connectContoso, setFeature } from "./support/entra.ts";
import { resetDemoWorld } from "./support/world.ts";

let adele: TestBrowser;

beforeEach(async () => {
  await resetDemoWorld();
  adele = await connectContoso(["auto-provision"]);
});

async function snapshot() {
  return { users: await countRows("users"), memberships: await countRows("memberships"), sessions: await countRows("sessions") };
}

/** A Microsoft sign-in as `oid` is refused with `status` and a page that `says` why; nothing is written. */
async function expectRefused(oid: string, status: number, says: string) {
  const before = await snapshot();
  const response = await new TestBrowser().signInWithMicrosoft(oid);
  expect(response.status).toBe(status);
  expect(await response.text()).toContain(says);
  expect(await snapshot()).toEqual(before);
}

describe("with Auto-provision on", () => {
  it("Megan signs in without an invitation and lands in Contoso with the default role", async () => {
    const home = await (await signedIn("megan")).page("/");
    expect(home.html).toContain("Welcome, Megan Bowen");
    expect(home.html).toContain("Contoso");
    expect(await contosoRoleOf(entraUser("megan").oid)).toEqual({ role: "member", status: "active" });
    const identity = await env.DB.prepare("select issuer_key from identities where subject = ?")
      .bind(entraUser("megan").oid)
      .first<{ issuer_key: string }>();
    expect(identity?.issuer_key).toBe(CONTOSO_TENANT_ID);
    const audit = await env.DB.prepare("select details from audit_events where action = 'entra.user_provisioned' and organization_id = ?")
      .bind(DEMO_ORGS.contoso.id)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toMatchObject({ role: "member", upn: "megan@contoso.example" });
  });

  it("refuses Jordan, a guest, with a clear page", async () => {
    await expectRefused(entraUser("jordan").oid, 403, "Guest accounts");
  });

  it("refuses a guest even when the token does not mark it (Graph decides)", async () => {
    const { oid } = await emulatorAdmin<{ oid: string }>("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Quiet Guest",
      userPrincipalName: "quiet_partner.example#EXT#@contoso.onmicrosoft.com",
      mail: "quiet@partner.example",
      userType: "Guest",
    });
    await expectRefused(oid, 403, "Guest accounts");
  });

  it("refuses Lee of Fabrikam, and a Fabrikam user whose UPN claims contoso.example", async () => {
    const before = await snapshot();
    expect((await new TestBrowser().signInWithMicrosoft(entraUser("lee").oid)).status).toBe(302); // Lee's own org
    const { oid } = await emulatorAdmin<{ oid: string }>("users", {
      tenantId: FABRIKAM_TENANT_ID,
      displayName: "Eve Impostor",
      userPrincipalName: "eve@contoso.example",
      mail: "eve@contoso.example",
    });
    const response = await new TestBrowser().signInWithMicrosoft(oid);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("No UniAsset account");
    const after = await snapshot();
    expect(after.users).toBe(before.users);
    expect(after.memberships).toBe(before.memberships);
  });

  it("refuses a Contoso member whose UPN is outside the verified domains", async () => {
    const { oid } = await emulatorAdmin<{ oid: string }>("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Ola Outside",
      userPrincipalName: "ola@elsewhere.example",
      mail: "ola@elsewhere.example",
    });
    await expectRefused(oid, 403, "verified domains");
  });

  it("refuses with a clear message when Graph cannot confirm the account, and writes nothing", async () => {
    await emulatorAdmin("faults", { endpoint: "user", status: 503, times: 5 });
    await expectRefused(entraUser("megan").oid, 502, "check your account with Microsoft");
  });

  it("refreshes an access token that expired during sign-in", async () => {
    await emulatorAdmin("access-tokens/expire");
    const refreshBefore = await env.DB.prepare("select refresh_token_enc from entra_connections").first<{ refresh_token_enc: string }>();
    const response = await new TestBrowser().signInWithMicrosoft(entraUser("megan").oid);
    expect(response.status).toBe(302);
    const refreshAfter = await env.DB.prepare("select refresh_token_enc from entra_connections").first<{ refresh_token_enc: string }>();
    expect(refreshAfter?.refresh_token_enc).not.toBe(refreshBefore?.refresh_token_enc);
  });
});

describe("with Auto-provision off", () => {
  it("refuses Megan", async () => {
    await setFeature(adele, "auto-provision", false);
    await expectRefused(entraUser("megan").oid, 403, "No UniAsset account");
  });
});
