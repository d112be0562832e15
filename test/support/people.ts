// Signed-in browsers for every role in Contoso, plus Lee of Fabrikam, through the real sign-in.
import { env } from "cloudflare:test";
import { entraUser, googleAccount } from "../../demo/directory.ts";
import { DEMO_ORGS, DEMO_USER_IDS } from "../../demo/seed.ts";
import type { Role } from "../../src/db/schema.ts";
import { TestBrowser } from "./browser.ts";

export const TEST_USER_IDS = {
  alex: "00000000-0000-4000-8000-0000000a1e01",
  megan: "00000000-0000-4000-8000-0000000e9a01",
  sam: "00000000-0000-4000-8000-00000005a301",
} as const;

/** Gives a demo person a UniAsset membership in Contoso (test data, as an earlier invitation would). */
export async function addContosoMember(key: "alex" | "megan" | "sam", role: Role) {
  const id = TEST_USER_IDS[key];
  const person =
    key === "sam"
      ? { email: googleAccount("sam").email, name: googleAccount("sam").name, provider: "google", issuer: "google", subject: googleAccount("sam").sub }
      : { email: entraUser(key).mail, name: entraUser(key).displayName, provider: "microsoft", issuer: entraUser(key).tenantId, subject: entraUser(key).oid };
  await env.DB.batch([
    env.DB.prepare("insert or ignore into users (id, email, display_name, created_at) values (?, ?, ?, 1)").bind(id, person.email, person.name),
    env.DB.prepare("insert or ignore into identities (provider, issuer_key, subject, user_id, created_at) values (?, ?, ?, ?, 1)").bind(person.provider, person.issuer, person.subject, id),
    env.DB.prepare("insert or replace into memberships (organization_id, user_id, role, status, created_at) values (?, ?, ?, 'active', 1)").bind(DEMO_ORGS.contoso.id, id, role),
  ]);
  return id;
}

export async function signedIn(key: "adele" | "alex" | "megan" | "lee" | "sam" | "pat"): Promise<TestBrowser> {
  const browser = new TestBrowser();
  const response = key === "sam" || key === "pat" ? await browser.signInWithGoogle(googleAccount(key).sub) : await browser.signInWithMicrosoft(entraUser(key).oid);
  if (response.status !== 302) throw new Error(`sign-in of ${key} failed: ${response.status} ${await response.text()}`);
  await browser.page("/"); // picks up the CSRF token
  return browser;
}

/** One signed-in browser per Contoso role: owner Adele, admin Alex, manager Megan, member Sam, viewer Pat. */
export async function contosoByRole(): Promise<Record<Role, TestBrowser>> {
  await addContosoMember("alex", "admin");
  await addContosoMember("megan", "manager");
  await addContosoMember("sam", "member");
  return {
    owner: await signedIn("adele"),
    admin: await signedIn("alex"),
    manager: await signedIn("megan"),
    member: await signedIn("sam"),
    viewer: await signedIn("pat"),
  };
}

export { DEMO_USER_IDS, DEMO_ORGS };
