// Signing in as a member a SCIM push provisioned (src/signin/scimLink.ts states the rule): linked by
// the Entra object id the provider sent, or by an email whose domain its issuer verified (Microsoft's
// xms_edov, Google's hd); never by a guest's, a consumer account's or an unverified address; a
// deactivated member is refused. Each first sign-in stays within sign-in's two D1 round trips.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { entraUser, googleAccount } from "../../demo/directory.ts";
import { DEMO_ORGS } from "../../demo/seed.ts";
import { personFromClaims } from "../../src/signin/person.ts";
import { scimLinkKeys } from "../../src/signin/scimLink.ts";
import { TestBrowser } from "../support/browser.ts";
import { pushUser, makeScimToken } from "../support/scim.ts";
import { measureCallback } from "../support/signInCost.ts";
import { resetDemoWorld } from "../support/world.ts";

let token: string;
beforeEach(async () => {
  await resetDemoWorld();
  token = await makeScimToken(DEMO_ORGS.contoso.id);
});

async function identitiesOf(userId: string) {
  const { results } = await env.DB.prepare("select provider, issuer_key as issuer, subject from identities where user_id = ?")
    .bind(userId)
    .all<{ provider: string; issuer: string; subject: string }>();
  return results;
}

async function linkAudit(userId: string) {
  const row = await env.DB.prepare("select details from audit_events where action = 'scim.member_linked' and target_user_id = ?")
    .bind(userId)
    .first<{ details: string }>();
  return row ? (JSON.parse(row.details) as Record<string, unknown>) : null;
}

async function signedInAt(userId: string) {
  return env.DB.prepare("select last_sign_in_at as at from users where id = ?").bind(userId).first<number | null>("at");
}

describe("a SCIM-provisioned member's first sign-in", () => {
  it("links a Microsoft sign-in by the Entra object id the provider sent as externalId", async () => {
    const megan = entraUser("megan");
    // The pushed email is not Megan's sign-in address: the object id alone links her.
    const id = await pushUser(token, {
      userName: "m.bowen@contoso.example",
      email: "m.bowen@contoso.example",
      displayName: "Megan Bowen",
      objectId: megan.oid,
    });
    expect(await signedInAt(id)).toBeNull();

    const cost = await measureCallback("microsoft", megan.oid, new TestBrowser());
    expect(cost.status).toBe(302);
    expect(cost.d1.roundTrips).toBeLessThanOrEqual(2);
    expect(await identitiesOf(id)).toEqual([{ provider: "microsoft", issuer: megan.tenantId, subject: megan.oid }]);
    expect(await linkAudit(id)).toEqual({ provider: "microsoft", linkedBy: "entra_object_id" });
    expect(await signedInAt(id)).toBeTypeOf("number");
  });

  it("links a Microsoft sign-in by an email whose domain the member's own tenant verified (xms_edov)", async () => {
    const alex = entraUser("alex");
    const id = await pushUser(token, { userName: alex.userPrincipalName, displayName: "Alex Wilber" });
    const browser = new TestBrowser();
    expect((await browser.signInWithMicrosoft(alex.oid)).status).toBe(302);
    const home = await browser.page("/");
    expect(home.html).toContain("Welcome, Alex Wilber");
    expect(home.html).toContain("Contoso");
    expect(await linkAudit(id)).toEqual({ provider: "microsoft", linkedBy: "email" });
    // The next sign-in finds the identity.
    const again = new TestBrowser();
    await again.signInWithMicrosoft(alex.oid);
    expect((await again.page("/")).html).toContain("Welcome, Alex Wilber");
    expect(await identitiesOf(id)).toHaveLength(1);
  });

  it("links a Google Workspace sign-in by its verified email in its hosted domain (hd)", async () => {
    const irvin = googleAccount("irvin");
    const id = await pushUser(token, { userName: irvin.email, displayName: irvin.name });
    const cost = await measureCallback("google", irvin.sub, new TestBrowser());
    expect(cost.status).toBe(302);
    expect(cost.d1.roundTrips).toBeLessThanOrEqual(2);
    expect(await identitiesOf(id)).toEqual([{ provider: "google", issuer: "google", subject: irvin.sub }]);
    expect(await linkAudit(id)).toEqual({ provider: "google", linkedBy: "email" });
  });

  it("refuses a deactivated member and links nothing", async () => {
    const alex = entraUser("alex");
    const id = await pushUser(token, { userName: alex.userPrincipalName, displayName: "Alex Wilber", active: false });
    const callback = await new TestBrowser().signInWithMicrosoft(alex.oid);
    expect(callback.status).toBe(403);
    expect(await callback.text()).toContain("deactivated");
    expect(await identitiesOf(id)).toEqual([]);
  });
});

describe("spoof attempts", () => {
  it("never links a consumer Google account, however verified its address", async () => {
    const sam = googleAccount("sam");
    const id = await pushUser(token, { userName: sam.email, displayName: sam.name });
    const callback = await new TestBrowser().signInWithGoogle(sam.sub);
    expect(callback.status).toBe(403);
    expect(await callback.text()).toContain("There is no UniAsset account");
    expect(await identitiesOf(id)).toEqual([]);
  });

  it("never links by a guest object's id: Casey signs in as her home account, which is not that object", async () => {
    // Entra provisioning from Contoso would send the guest object's id; Casey's sign-in carries her
    // home tenant's oid (and a guest token's would be refused: person.ts drops a guest's keys).
    const guest = entraUser("caseyGuest");
    const id = await pushUser(token, { userName: "casey.morgan@contoso.example", displayName: guest.displayName, objectId: guest.oid });
    const callback = await new TestBrowser().signInWithMicrosoft(guest.oid);
    expect(callback.status).toBe(403);
    expect(await identitiesOf(id)).toEqual([]);
  });

  it("links only the address's owner: another tenant's member cannot claim a contoso.example address", async () => {
    // Lee's tenant (Fabrikam) verified fabrikam.example only; the provider pushed a Contoso address.
    const lee = entraUser("lee");
    const id = await pushUser(token, { userName: "lee@contoso.example", displayName: "Lee Gu" });
    await new TestBrowser().signInWithMicrosoft(lee.oid);
    expect(await identitiesOf(id)).toEqual([]);
  });

  it("never links a member who already has an identity of the same provider", async () => {
    const alex = entraUser("alex");
    const id = await pushUser(token, { userName: alex.userPrincipalName, displayName: "Alex Wilber" });
    await env.DB.prepare(
      "insert into identities (provider, issuer_key, subject, user_id, email, created_at) values ('microsoft', ?, ?, ?, null, 1)",
    )
      .bind(alex.tenantId, crypto.randomUUID(), id)
      .run();
    const callback = await new TestBrowser().signInWithMicrosoft(alex.oid);
    expect(callback.status).toBe(403);
    expect(await identitiesOf(id)).toHaveLength(1);
  });
});

describe("which claims may link (person.ts)", () => {
  const tid = "7f1c6a7e-1b2c-4d3e-8f90-a1b2c3d4e5f6";
  const oid = "1d3e5a70-2b4c-4d6e-9f80-00000000ad02";
  const microsoft = (claims: Record<string, unknown>) => {
    const person = personFromClaims("microsoft", { tid, oid, name: "Megan", ...claims });
    return person.ok ? person.value.domainVerifiedEmail : "invalid";
  };
  const google = (claims: Record<string, unknown>) => {
    const person = personFromClaims("google", { sub: "1", name: "Megan", ...claims });
    return person.ok ? person.value.domainVerifiedEmail : "invalid";
  };

  it("takes Microsoft's email only with xms_edov true, of a member", () => {
    expect(microsoft({ email: "Megan@Contoso.example", xms_edov: true })).toBe("megan@contoso.example");
    expect(microsoft({ email: "megan@contoso.example", xms_edov: false })).toBeNull();
    expect(microsoft({ email: "megan@contoso.example" })).toBeNull();
    expect(microsoft({ email: "megan@contoso.example", xms_edov: true, acct: 1 })).toBeNull();
    // preferred_username is never a verified address.
    expect(microsoft({ preferred_username: "megan@contoso.example" })).toBeNull();
    expect(microsoft({ email: "megan@contoso.example", xms_edov: "true" })).toBe("invalid");
  });

  it("never takes a guest's object id", () => {
    const guest = personFromClaims("microsoft", { tid, oid, acct: 1 });
    const member = personFromClaims("microsoft", { tid, oid: oid.toUpperCase(), acct: 0 });
    expect(guest.ok && scimLinkKeys(guest.value).objectId).toBeNull();
    expect(member.ok && scimLinkKeys(member.value).objectId).toBe(oid);
  });

  it("takes Google's email only when verified and in its hosted domain", () => {
    expect(google({ email: "irvin@contoso.example", email_verified: true, hd: "contoso.example" })).toBe("irvin@contoso.example");
    expect(google({ email: "irvin@contoso.example", email_verified: true })).toBeNull();
    expect(google({ email: "irvin@contoso.example", email_verified: false, hd: "contoso.example" })).toBeNull();
    expect(google({ email: "irvin@contoso.example", email_verified: true, hd: "evil.example" })).toBeNull();
    expect(google({ email: "irvin@evil-contoso.example", email_verified: true, hd: "contoso.example" })).toBeNull();
  });
});
