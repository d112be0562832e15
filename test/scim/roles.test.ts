// SCIM groups in the group → role mapping: a pushed member's role follows the mapped SCIM groups
// they are in (highest wins, default role otherwise), on push and on group membership changes,
// never making or unmaking an Owner; the mapping pages list SCIM groups.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { DEMO_ORGS, DEMO_USER_IDS, signedIn } from "../support/people.ts";
import { PATCH_OP, SCIM_GROUP, makeScimToken, pushUser, scimRequest } from "../support/scim.ts";
import { resetDemoWorld } from "../support/world.ts";
import type { TestBrowser } from "../support/browser.ts";

const MAPPING = "/settings/integrations/scim/mapping";
let token: string;
let adele: TestBrowser;

beforeEach(async () => {
  await resetDemoWorld();
  token = await makeScimToken(DEMO_ORGS.contoso.id);
  adele = await signedIn("adele");
});

async function roleOf(userId: string) {
  return env.DB.prepare("select role from memberships where organization_id = ? and user_id = ?")
    .bind(DEMO_ORGS.contoso.id, userId)
    .first<string>("role");
}

async function pushGroup(displayName: string, members: string[] = []) {
  const reply = await scimRequest(token, "POST", "Groups", {
    schemas: [SCIM_GROUP],
    displayName,
    members: members.map((value) => ({ value })),
  });
  expect(reply.status).toBe(201);
  return reply.body!.id as string;
}

/** Entra's group-membership PATCH shapes (capitalised ops, members as an array of values). */
async function members(groupId: string, op: "Add" | "Remove", ids: string[]) {
  const reply = await scimRequest(token, "PATCH", `Groups/${groupId}`, {
    schemas: [PATCH_OP],
    Operations: [{ op, path: "members", value: ids.map((value) => ({ value })) }],
  });
  expect(reply.status).toBe(204);
}

async function map(groupId: string, role: string) {
  const response = await adele.post(MAPPING, { groupId, role });
  expect(response.status).toBe(200);
  return response.text();
}

describe("SCIM groups decide pushed members' roles", () => {
  it("follows the mapping: highest mapped role wins, the default role otherwise, on membership PATCHes", async () => {
    const isaiah = await pushUser(token, { userName: "isaiah@contoso.example", displayName: "Isaiah Langer" });
    const grady = await pushUser(token, { userName: "grady@contoso.example", displayName: "Grady Archie" });
    expect(await roleOf(isaiah)).toBe("member");
    const sales = await pushGroup("Sales", [isaiah]);
    const admins = await pushGroup("UniAsset Admins");

    const notice = await map(sales, "manager");
    expect(notice).toContain("Members of Sales now get the manager role. 1 member&#39;s role changed.");
    expect(await roleOf(isaiah)).toBe("manager");

    await members(sales, "Add", [grady]);
    expect(await roleOf(grady)).toBe("manager");

    await map(admins, "admin");
    await members(admins, "Add", [isaiah]);
    expect(await roleOf(isaiah)).toBe("admin");

    await members(admins, "Remove", [isaiah]);
    expect(await roleOf(isaiah)).toBe("manager");
    await members(sales, "Remove", [isaiah]);
    expect(await roleOf(isaiah)).toBe("member");

    // Each change is audited and raises member.role_changed with cause "mapping".
    const audits = await env.DB.prepare(
      "select details from audit_events where action = 'scim.role_mapped' and target_user_id = ? order by id",
    )
      .bind(isaiah)
      .all<{ details: string }>();
    expect(audits.results.map((row) => JSON.parse(row.details))).toEqual([
      { from: "member", to: "manager" },
      { from: "manager", to: "admin" },
      { from: "admin", to: "manager" },
      { from: "manager", to: "member" },
    ]);
    // The request log says what each group request changed, never an id or a body.
    const log = await env.DB.prepare("select outcome from scim_requests where resource like 'Groups%' order by id").all<{
      outcome: string;
    }>();
    expect(log.results.map((row) => row.outcome)).toEqual([
      "created group Sales with 1 member",
      "created group UniAsset Admins",
      "added 1 member to Sales",
      "added 1 member to UniAsset Admins",
      "removed 1 member from UniAsset Admins",
      "removed 1 member from Sales",
    ]);
    // No mark is left behind.
    expect(await env.DB.prepare("select count(*) as n from scim_users where role_pending = 1").first<number>("n")).toBe(0);
  });

  it("never makes or unmakes an Owner", async () => {
    // Adele is adopted: the seeded Owner, pushed with her email.
    const id = await pushUser(token, { userName: "adele@contoso.example", displayName: "Adele Vance" });
    expect(id).toBe(DEMO_USER_IDS.adele);
    const viewers = await pushGroup("Everyone", [id]);
    await map(viewers, "viewer");
    const admins = await pushGroup("Admins", [id]);
    await map(admins, "admin");
    await members(admins, "Remove", [id]);
    expect(await roleOf(id)).toBe("owner");
  });

  it("changes no one's role while no SCIM group is mapped", async () => {
    await env.DB.prepare("update memberships set role = 'admin' where user_id = ?").bind(DEMO_USER_IDS.diego).run();
    const diego = await pushUser(token, { userName: "diego@contoso.example", displayName: "Diego Siciliani" });
    await pushGroup("All Staff", [diego]);
    expect(await roleOf(diego)).toBe("admin");
  });

  it("gives new members the default role, and a deleted group's members lose its role", async () => {
    const response = await adele.post(`${MAPPING}/default`, { role: "viewer" });
    expect(response.status).toBe(200);
    const isaiah = await pushUser(token, { userName: "isaiah@contoso.example", displayName: "Isaiah Langer" });
    expect(await roleOf(isaiah)).toBe("viewer");
    const sales = await pushGroup("Sales", [isaiah]);
    await map(sales, "manager");
    expect(await roleOf(isaiah)).toBe("manager");
    expect((await scimRequest(token, "DELETE", `Groups/${sales}`)).status).toBe(204);
    expect(await roleOf(isaiah)).toBe("viewer");
    expect(await env.DB.prepare("select count(*) as n from scim_group_roles").first<number>("n")).toBe(0);
  });

  it("refuses a group of another organization or a bad role, and changes nothing", async () => {
    const sales = await pushGroup("Sales");
    expect((await adele.post(MAPPING, { groupId: crypto.randomUUID(), role: "admin" })).status).toBe(404);
    expect((await adele.post(MAPPING, { groupId: sales, role: "owner" })).status).toBe(400);
    expect(await env.DB.prepare("select count(*) as n from scim_group_roles").first<number>("n")).toBe(0);
  });
});

describe("the mapping pages list SCIM groups", () => {
  it("shows them on SCIM provisioning and on Group → Role mapping while Entra ID is not connected", async () => {
    await pushGroup("Sales");
    const scimPage = await adele.page("/settings/integrations/scim");
    expect(scimPage.html).toContain('id="scim-group-roles"');
    expect(scimPage.html).toContain("Sales");
    const mappingPage = await adele.page("/settings/integrations/entra/mapping");
    expect(mappingPage.status).toBe(200);
    expect(mappingPage.html).toContain('id="scim-group-roles"');
    expect(mappingPage.html).toContain("Sales");
  });
});
