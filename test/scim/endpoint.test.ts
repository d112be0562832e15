// The /scim/v2 endpoint through the Worker (SELF) against real local D1: token authentication,
// tenant isolation, what provisioning does to members (deactivation ends sessions, the last Owner
// and by-hand deactivations are kept), Okta's and Entra's documented request sequences, and the
// refusals (401, 403, 409, 413, 429, invalidFilter), each of which writes nothing.
import { SELF, env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { sha256Base64url } from "../../src/lib/crypto.ts";
import { DEMO_ORGS, DEMO_USER_IDS, linkMember, signedIn, TEST_USER_IDS } from "../support/people.ts";
import { resetDemoWorld } from "../support/world.ts";
import { APP } from "../support/browser.ts";

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const q = (filter: string) => encodeURIComponent(filter);

/** A token of `organizationId` written as the settings page writes it (only its hash stored). */
async function makeToken(organizationId: string, options: { graceExpiresAt?: number; revokedAt?: number } = {}): Promise<string> {
  const id = crypto.randomUUID().replaceAll("-", "");
  const token = `scim_${id}_${"a".repeat(11)}${crypto.randomUUID().replaceAll("-", "")}`;
  await env.DB.prepare(
    "insert into scim_tokens (id, organization_id, token_hash, created_at, grace_expires_at, revoked_at) values (?, ?, ?, 1, ?, ?)",
  )
    .bind(id, organizationId, await sha256Base64url(token), options.graceExpiresAt ?? null, options.revokedAt ?? null)
    .run();
  return token;
}

async function scim(token: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await SELF.fetch(new URL(`/scim/v2/${path}`, APP), {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/scim+json", ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

async function counts() {
  const row = await env.DB.prepare(`select (select count(*) from scim_users) as scimUsers, (select count(*) from users) as users,
    (select count(*) from memberships) as memberships, (select count(*) from audit_events) as audit, (select count(*) from scim_requests) as requests,
    (select count(*) from scim_groups) as groups, (select count(*) from scim_group_members) as groupMembers,
    (select count(*) from memberships where status = 'active') as active`).first();
  return row;
}

async function membership(userId: string, organizationId = DEMO_ORGS.contoso.id) {
  return env.DB.prepare("select role, status, deactivated_reason as reason from memberships where organization_id = ? and user_id = ?")
    .bind(organizationId, userId)
    .first<{ role: string; status: string; reason: string | null }>();
}

const oktaUser = (userName: string, active = true) => ({
  schemas: [USER],
  userName,
  name: { givenName: "Isaiah", familyName: "Jones" },
  emails: [{ primary: true, value: userName, type: "work" }],
  displayName: "Isaiah Jones",
  locale: "en-US",
  externalId: "00u1esetyqE5QkC1F0h8",
  groups: [],
  password: "1mz050nq",
  active,
});

let token: string;
beforeEach(async () => {
  await resetDemoWorld();
  token = await makeToken(DEMO_ORGS.contoso.id);
});

describe("bearer token", () => {
  it("refuses a missing, malformed, wrong, revoked or expired token with 401 and writes nothing", async () => {
    const before = await counts();
    const [id] = token.slice(5).split("_");
    const wrongSecret = `scim_${id}_${"b".repeat(43)}`;
    const revoked = await makeToken(DEMO_ORGS.contoso.id, { revokedAt: 1 });
    const expired = await makeToken(DEMO_ORGS.contoso.id, { graceExpiresAt: Date.now() - 1000 });
    for (const presented of [null, "not-a-token", wrongSecret, revoked, expired]) {
      const reply = await scim(presented, "POST", "Users", oktaUser("isaiah@contoso.example"));
      expect(reply.status, String(presented)).toBe(401);
      expect(reply.headers.get("content-type")).toContain("application/scim+json");
      expect(reply.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "401" });
    }
    expect(await counts()).toEqual(before);
  });

  it("keeps a rotated token working within its grace period", async () => {
    const rotated = await makeToken(DEMO_ORGS.contoso.id, { graceExpiresAt: Date.now() + 60_000 });
    expect((await scim(rotated, "GET", "Users")).status).toBe(200);
    const used = await env.DB.prepare("select last_used_at from scim_tokens where id = ?")
      .bind(rotated.split("_")[1])
      .first<number>("last_used_at");
    expect(used).toBeGreaterThan(0);
  });

  it("answers 403 for an organization without the Enterprise plan", async () => {
    const fabrikam = await makeToken(DEMO_ORGS.fabrikam.id);
    expect((await scim(fabrikam, "GET", "Users")).status).toBe(403);
  });

  it("never lets one organization's token read or change another's people", async () => {
    const created = await scim(token, "POST", "Users", oktaUser("isaiah@contoso.example"));
    const id = created.body!.id as string;
    const northwind = await makeToken(DEMO_ORGS.northwind.id);
    expect((await scim(northwind, "GET", `Users/${id}`)).status).toBe(404);
    expect((await scim(northwind, "GET", `Users?filter=${q('userName eq "isaiah@contoso.example"')}`)).body).toMatchObject({
      totalResults: 0,
    });
    expect(
      (
        await scim(northwind, "PATCH", `Users/${id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: "replace", path: "active", value: false }],
        })
      ).status,
    ).toBe(404);
    expect((await scim(northwind, "DELETE", `Users/${id}`)).status).toBe(404);
    expect(await membership(id)).toMatchObject({ status: "active" });
  });
});

describe("Okta's request sequence", () => {
  it("looks up, creates, updates with PUT, deactivates and reactivates a user", async () => {
    const lookup = await scim(token, "GET", `Users?filter=${q('userName eq "isaiah@contoso.example"')}&startIndex=1&count=100`);
    expect(lookup.body).toMatchObject({ totalResults: 0, Resources: [] });

    const created = await scim(token, "POST", "Users", oktaUser("isaiah@contoso.example"));
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe(`${APP}/scim/v2/Users/${created.body!.id}`);
    expect(created.body).not.toHaveProperty("password");
    const id = created.body!.id as string;
    expect(await membership(id)).toEqual({ role: "member", status: "active", reason: null });
    const person = await env.DB.prepare("select email, display_name, last_sign_in_at from users where id = ?").bind(id).first();
    expect(person).toEqual({ email: "isaiah@contoso.example", display_name: "Isaiah Jones", last_sign_in_at: null });
    const adele = await signedIn("adele");
    const users = await adele.page("/users?q=isaiah");
    expect(users.html).toContain("Isaiah Jones");
    expect(users.html).toContain("Not signed in yet");

    // userName is unique, case-insensitively: 409 uniqueness, and nothing written.
    const before = await counts();
    const duplicate = await scim(token, "POST", "Users", oktaUser("ISAIAH@contoso.example"));
    expect(duplicate).toMatchObject({ status: 409, body: { scimType: "uniqueness" } });
    expect(await counts()).toEqual(before);

    const found = await scim(token, "GET", `Users?filter=${q('userName eq "Isaiah@Contoso.example"')}`);
    expect(found.body).toMatchObject({ totalResults: 1, Resources: [{ id, userName: "isaiah@contoso.example" }] });

    const put = await scim(token, "PUT", `Users/${id}`, { ...oktaUser("isaiah@contoso.example"), id, displayName: "Isaiah J. Jones" });
    expect(put).toMatchObject({ status: 200, body: { displayName: "Isaiah J. Jones" } });
    expect(await env.DB.prepare("select display_name from users where id = ?").bind(id).first("display_name")).toBe("Isaiah J. Jones");

    const off = await scim(token, "PATCH", `Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: "replace", value: { active: false } }],
    });
    expect(off).toMatchObject({ status: 200, body: { active: false } });
    expect(await membership(id)).toEqual({ role: "member", status: "deactivated", reason: "scim" });
    const deprovisioned = await adele.page("/users?status=deactivated_by_scim");
    expect(deprovisioned.html).toContain("Isaiah J. Jones");
    expect(deprovisioned.html).toContain("deprovisioned by your identity provider");

    const on = await scim(token, "PATCH", `Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: "replace", value: { active: true } }] });
    expect(on.status).toBe(200);
    expect(await membership(id)).toEqual({ role: "member", status: "active", reason: null });

    const audit = await env.DB.prepare("select action, details from audit_events where target_user_id = ? order by id").bind(id).all();
    expect(audit.results.map((row) => row.action)).toEqual(["scim.user_provisioned", "member.deactivated", "member.reactivated"]);
    const log = await env.DB.prepare("select method, resource, status from scim_requests order by id").all();
    expect(log.results.at(-1)).toEqual({ method: "PATCH", resource: `Users/${id}`, status: 200 });
  });
});

describe("Microsoft Entra's request sequence", () => {
  it("creates a user, matches by externalId and work email, disables with a string boolean, and manages a group", async () => {
    const created = await scim(token, "POST", "Users", {
      schemas: [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
      externalId: "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
      userName: "Test_User_00aa00aa@contoso.example",
      active: true,
      emails: [{ primary: true, type: "work", value: "Test_User_11bb11bb@testuser.com" }],
      meta: { resourceType: "User" },
      name: { formatted: "givenName familyName", familyName: "familyName", givenName: "givenName" },
      roles: [],
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department: "Sales", employeeNumber: "701984" },
    });
    expect(created.status).toBe(201);
    const id = created.body!.id as string;
    expect((await scim(token, "GET", `Users?filter=${q('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`)).body).toMatchObject({
      totalResults: 1,
    });
    expect(
      (await scim(token, "GET", `Users?filter=${q('emails[type eq "work"].value eq "Test_User_11bb11bb@testuser.com"')}`)).body,
    ).toMatchObject({ totalResults: 1 });
    expect(await scim(token, "GET", `Users?filter=${q('nosuchattribute eq "x"')}`)).toMatchObject({
      status: 400,
      body: { scimType: "invalidFilter" },
    });
    expect((await scim(token, "GET", `Users/${id}?attributes=userName`)).body).toEqual({
      schemas: [USER],
      id,
      userName: "Test_User_00aa00aa@contoso.example",
    });

    const disabled = await scim(token, "PATCH", `Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: "Replace", path: "active", value: "False" }],
    });
    expect(disabled).toMatchObject({ status: 200, body: { active: false } });
    expect(await membership(id)).toMatchObject({ status: "deactivated", reason: "scim" });

    const group = await scim(token, "POST", "Groups", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      externalId: "8aa1a0c0",
      displayName: "Group1",
      members: [],
    });
    expect(group.status).toBe(201);
    const groupId = group.body!.id as string;
    expect((await scim(token, "GET", `Groups?filter=${q('displayName eq "group1"')}&excludedAttributes=members`)).body).toMatchObject({
      totalResults: 1,
      Resources: [{ id: groupId }],
    });
    expect(
      (
        await scim(token, "PATCH", `Groups/${groupId}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: "Add", path: "members", value: [{ $ref: null, value: id }] }],
        })
      ).status,
    ).toBe(204);
    expect((await scim(token, "GET", `Groups?filter=${q(`id eq "${groupId}" and members[value eq "${id}"]`)}`)).body).toMatchObject({
      totalResults: 1,
    });
    expect((await scim(token, "GET", `Groups/${groupId}`)).body).toMatchObject({ members: [{ value: id }] });
    expect(
      (
        await scim(token, "PATCH", `Groups/${groupId}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: "Remove", path: "members", value: [{ $ref: null, value: id }] }],
        })
      ).status,
    ).toBe(204);
    expect((await scim(token, "GET", `Groups/${groupId}`)).body!.members).toEqual([]);

    expect((await scim(token, "DELETE", `Users/${id}`)).status).toBe(204);
    expect((await scim(token, "GET", `Users/${id}`)).status).toBe(404);
    expect(await membership(id)).toMatchObject({ status: "deactivated", reason: "scim" });
  });

  it("serves the discovery documents", async () => {
    const config = await scim(null, "GET", "ServiceProviderConfig");
    expect(config).toMatchObject({ status: 200, body: { patch: { supported: true }, bulk: { supported: false } } });
    expect((await scim(null, "GET", "ResourceTypes")).body).toMatchObject({ totalResults: 2 });
    expect((await scim(null, "GET", "Schemas")).status).toBe(200);
    expect((await scim(token, "GET", "Nothing")).status).toBe(404);
  });
});

describe("lists", () => {
  it("pages with startIndex and count, totalResults counting every match", async () => {
    for (const name of ["a", "b", "c"]) await scim(token, "POST", "Users", { schemas: [USER], userName: `${name}@contoso.example` });
    const page = async (query: string) =>
      (await scim(token, "GET", `Users?${query}`)).body as { totalResults: number; itemsPerPage: number; startIndex: number };
    expect(await page("startIndex=1&count=2")).toMatchObject({ totalResults: 3, itemsPerPage: 2, startIndex: 1 });
    expect(await page("startIndex=3&count=2")).toMatchObject({ totalResults: 3, itemsPerPage: 1, startIndex: 3 });
    expect(await page("startIndex=10")).toMatchObject({ totalResults: 3, itemsPerPage: 0 });
    expect(await page("count=0")).toMatchObject({ totalResults: 3, itemsPerPage: 0 });
    expect(await page(`filter=${q('userName sw "b"')}`)).toMatchObject({ totalResults: 1, itemsPerPage: 1 });
    expect(await page(`filter=${q('name.givenName pr or userName ew "c@contoso.example"')}`)).toMatchObject({ totalResults: 1 });
    expect((await scim(token, "GET", `Groups?startIndex=2`)).body).toMatchObject({ totalResults: 0, itemsPerPage: 0 });
  });
});

describe("what provisioning does to members", () => {
  it("ends the sessions of a member it deactivates", async () => {
    await linkMember("alex");
    const alex = await signedIn("alex");
    expect((await alex.get("/users")).status).toBe(200);
    const adopted = await scim(token, "POST", "Users", {
      schemas: [USER],
      userName: "alex@contoso.example",
      emails: [{ value: "alex@contoso.example", primary: true }],
      active: true,
    });
    expect(adopted.body!.id).toBe(TEST_USER_IDS.alex);
    expect(
      (
        await scim(token, "PATCH", `Users/${TEST_USER_IDS.alex}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: "replace", path: "active", value: false }],
        })
      ).status,
    ).toBe(200);
    expect(await env.DB.prepare("select count(*) as n from sessions where user_id = ?").bind(TEST_USER_IDS.alex).first("n")).toBe(0);
    expect((await alex.get("/users")).status).toBe(302);
  });

  it("never deactivates the last active Owner, and writes nothing when refusing", async () => {
    const adele = await scim(token, "POST", "Users", { schemas: [USER], userName: "adele@contoso.example", active: true });
    expect(adele.body!.id).toBe(DEMO_USER_IDS.adele);
    const before = await counts();
    const refused = await scim(token, "PATCH", `Users/${DEMO_USER_IDS.adele}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: "replace", path: "active", value: false }],
    });
    expect(refused).toMatchObject({ status: 400, body: { scimType: "mutability" } });
    expect((await scim(token, "DELETE", `Users/${DEMO_USER_IDS.adele}`)).status).toBe(400);
    expect(await counts()).toEqual(before);
    expect(await membership(DEMO_USER_IDS.adele)).toMatchObject({ status: "active", role: "owner" });
  });

  it("never reactivates someone deactivated by hand", async () => {
    await env.DB.prepare(
      "update memberships set status = 'deactivated', deactivated_reason = 'by_hand', deactivated_at = 1 where user_id = ?",
    )
      .bind(DEMO_USER_IDS.diego)
      .run();
    const diego = await scim(token, "POST", "Users", { schemas: [USER], userName: "diego@contoso.example", active: true });
    expect(diego.status).toBe(201);
    expect(await membership(DEMO_USER_IDS.diego)).toMatchObject({ status: "deactivated", reason: "by_hand" });
    await scim(token, "PATCH", `Users/${DEMO_USER_IDS.diego}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: "replace", path: "active", value: false }],
    });
    await scim(token, "PATCH", `Users/${DEMO_USER_IDS.diego}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: "replace", path: "active", value: true }],
    });
    expect(await membership(DEMO_USER_IDS.diego)).toMatchObject({ status: "deactivated", reason: "by_hand" });
  });
});

describe("refusals", () => {
  it("refuses a body over the limit with 413 and writes nothing", async () => {
    const before = await counts();
    const huge = JSON.stringify({ ...oktaUser("big@contoso.example"), nickName: "x".repeat(1024 * 1024) });
    const reply = await scim(token, "POST", "Users", huge);
    expect(reply).toMatchObject({ status: 413, body: { status: "413" } });
    expect(await counts()).toEqual(before);
  });

  it("refuses a body that is not JSON with invalidSyntax", async () => {
    expect(await scim(token, "POST", "Users", "{not json")).toMatchObject({ status: 400, body: { scimType: "invalidSyntax" } });
  });

  it("rate limits per token with 429 and Retry-After", async () => {
    const limited = await makeToken(DEMO_ORGS.contoso.id);
    let refusal: Awaited<ReturnType<typeof scim>> | undefined;
    for (let i = 0; i < 700 && !refusal; i++) {
      const reply = await scim(limited, "GET", "ServiceProviderConfig");
      if (reply.status === 429) refusal = reply;
    }
    expect(refusal).toMatchObject({ status: 429, body: { status: "429" } });
    expect(refusal!.headers.get("retry-after")).toBe("10");
    // Another token is not limited by this one's requests.
    expect((await scim(token, "GET", "Users")).status).toBe(200);
  });
});

describe("Settings → Integrations → SCIM provisioning", () => {
  it("generates a token shown once, which then works, and revokes it", async () => {
    const adele = await signedIn("adele");
    const page = await adele.page("/settings/integrations/scim");
    expect(page.html).toContain(`${APP}/scim/v2`);
    const generated = await adele.post("/settings/integrations/scim/tokens");
    // POST → redirect → GET: the page that shows the token is a GET.
    expect(generated.status).toBe(303);
    expect(generated.headers.get("location")).toBe("/settings/integrations/scim");
    expect(await generated.text()).not.toMatch(/scim_[0-9a-f]{32}_/);
    const shownPage = await adele.page("/settings/integrations/scim");
    const shown = /scim_[0-9a-f]{32}_[A-Za-z0-9_-]{43}/.exec(shownPage.html)?.[0];
    expect(shown).toBeDefined();
    expect((await scim(shown!, "GET", "Users")).status).toBe(200);
    // Reloading shows it no more and rotates nothing: still one token, no grace period.
    const again = await adele.page("/settings/integrations/scim");
    expect(again.html).not.toContain(shown!);
    expect(again.html).toContain("Users");
    const tokens = await env.DB.prepare(
      "select grace_expires_at as grace from scim_tokens where organization_id = ? and revoked_at is null",
    )
      .bind(DEMO_ORGS.contoso.id)
      .all<{ grace: number | null }>();
    expect(tokens.results.filter((row) => row.grace === null)).toHaveLength(2); // the file's own token and this one
    const revoke = await adele.post(`/settings/integrations/scim/tokens/${shown!.split("_")[1]}/revoke`);
    expect(revoke.status).toBe(303);
    expect((await scim(shown!, "GET", "Users")).status).toBe(401);
  });

  it("shows the token only to the session that generated it", async () => {
    const adele = await signedIn("adele");
    await adele.page("/settings/integrations/scim");
    await adele.post("/settings/integrations/scim/tokens");
    const handover = adele.cookies.get("__Host-uniasset_scim_token");
    expect(handover).toBeDefined();
    const other = await signedIn("adele");
    other.cookies.set("__Host-uniasset_scim_token", handover!);
    expect((await other.page("/settings/integrations/scim")).html).not.toMatch(/scim_[0-9a-f]{32}_[A-Za-z0-9_-]{43}/);
  });
});
