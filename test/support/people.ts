// People: members linked as test data, and signed-in browsers for every role in Contoso, plus Lee
// of Fabrikam, through the real sign-in.
import { env } from "cloudflare:test";
import { entraUser, googleAccount } from "../../demo/directory.ts";
import { DEMO_ORGS, DEMO_USER_IDS } from "../../demo/seed.ts";
import type { Role } from "../../src/db/schema.ts";
import { TestBrowser } from "./browser.ts";

export const TEST_USER_IDS = {
  alex: "00000000-0000-4000-8000-0000000a1e01",
  megan: "00000000-0000-4000-8000-0000000e9a01",
  sam: "00000000-0000-4000-8000-00000005a301",
  casey: "0a000000-0000-4000-8000-0000000000c5",
} as const;

/** Demo people UniAsset does not know yet (demo/seed.ts links Adele, Diego, Lee and Nestor). */
export type UnlinkedDemoPerson = keyof typeof TEST_USER_IDS;

/** A sign-in identity: Microsoft's is keyed by tenant id (issuer) and object id (subject). */
export interface Identity {
  provider?: "microsoft" | "google";
  issuer: string;
  subject: string;
  name: string;
  email?: string | null;
}

function demoIdentity(key: UnlinkedDemoPerson): Identity {
  if (key === "sam") {
    const sam = googleAccount(key);
    return { provider: "google", issuer: "google", subject: sam.sub, name: sam.name, email: sam.email };
  }
  const person = entraUser(key);
  return { issuer: person.tenantId, subject: person.oid, name: person.displayName, email: person.mail };
}

/**
 * Test data, as an earlier invitation or import would leave it: a UniAsset user with `person`'s
 * identity (a demo person, with a fixed user id, or any identity, with a new one), member of
 * `organizationId` (Contoso) as `role` (member), `status` (active), made at `createdAt` (1: long
 * ago). Linking a demo person again changes only their membership.
 */
export async function linkMember(
  person: UnlinkedDemoPerson | Identity,
  options: { role?: Role; organizationId?: string; status?: "active" | "deactivated"; createdAt?: number } = {},
): Promise<{ userId: string; subject: string }> {
  const demo = typeof person === "string";
  const identity = demo ? demoIdentity(person) : person;
  const userId = demo ? TEST_USER_IDS[person] : crypto.randomUUID();
  const { role = "member", organizationId = DEMO_ORGS.contoso.id, status = "active", createdAt = 1 } = options;
  const deactivated = status === "deactivated" ? { reason: "by_hand", at: createdAt } : { reason: null, at: null };
  // A demo person may be linked again (another organization, another role); any other identity
  // must be new: linking one twice is a mistake in the test, and fails it.
  const orIgnore = demo ? "or ignore" : "";
  await env.DB.batch([
    env.DB.prepare(`insert ${orIgnore} into users (id, email, display_name, created_at) values (?, ?, ?, ?)`).bind(
      userId,
      identity.email ?? null,
      identity.name,
      createdAt,
    ),
    env.DB.prepare(`insert ${orIgnore} into identities (provider, issuer_key, subject, user_id, created_at) values (?, ?, ?, ?, ?)`).bind(
      identity.provider ?? "microsoft",
      identity.issuer,
      identity.subject,
      userId,
      createdAt,
    ),
    env.DB.prepare(
      "insert or replace into memberships (organization_id, user_id, role, status, deactivated_reason, deactivated_at, created_at) values (?, ?, ?, ?, ?, ?, ?)",
    ).bind(organizationId, userId, role, status, deactivated.reason, deactivated.at, createdAt),
  ]);
  return { userId, subject: identity.subject };
}

/** Test data: another Enterprise organization, `ownerId` its Owner (Adele by default); returns its id. */
export async function addOrganization(name: string, ownerId: string = DEMO_USER_IDS.adele): Promise<string> {
  const id = crypto.randomUUID();
  await env.DB.batch([
    env.DB.prepare("insert into organizations (id, name, plan, created_at) values (?, ?, 'enterprise', 1)").bind(id, name),
    env.DB.prepare("insert into memberships (organization_id, user_id, role, status, created_at) values (?, ?, 'owner', 'active', 1)").bind(
      id,
      ownerId,
    ),
  ]);
  return id;
}

export async function signedIn(key: "adele" | "alex" | "megan" | "lee" | "sam" | "pat"): Promise<TestBrowser> {
  const browser = new TestBrowser();
  const response =
    key === "sam" || key === "pat"
      ? await browser.signInWithGoogle(googleAccount(key).sub)
      : await browser.signInWithMicrosoft(entraUser(key).oid);
  if (response.status !== 302) throw new Error(`sign-in of ${key} failed: ${response.status} ${await response.text()}`);
  await browser.page("/"); // picks up the CSRF token
  return browser;
}

/** One signed-in browser per Contoso role: owner Adele, admin Alex, manager Megan, member Sam, viewer Pat. */
export async function contosoByRole(): Promise<Record<Role, TestBrowser>> {
  await linkMember("alex", { role: "admin" });
  await linkMember("megan", { role: "manager" });
  await linkMember("sam", { role: "member" });
  return {
    owner: await signedIn("adele"),
    admin: await signedIn("alex"),
    manager: await signedIn("megan"),
    member: await signedIn("sam"),
    viewer: await signedIn("pat"),
  };
}

export { DEMO_USER_IDS, DEMO_ORGS };
