// The role matrix: every page and action for each role, and across organizations.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { DEMO_ORGS, DEMO_USER_IDS } from "../demo/seed.ts";
import type { Role } from "../src/db/schema.ts";
import { TestBrowser } from "./support/browser.ts";
import { resetEmulator } from "./support/emulator.ts";
import { TEST_USER_IDS, contosoByRole, signedIn } from "./support/people.ts";

let browsers: Record<Role, TestBrowser>;
const ROLES: Role[] = ["owner", "admin", "manager", "member", "viewer"];

beforeAll(async () => {
  await resetEmulator();
  browsers = await contosoByRole();
});

const PAGES: { path: string; allowed: Role[] }[] = [
  { path: "/", allowed: ROLES },
  { path: "/users", allowed: ["owner", "admin", "manager", "member"] },
  { path: "/settings", allowed: ["owner", "admin"] },
  { path: "/settings/integrations", allowed: ["owner", "admin"] },
  { path: "/settings/integrations/entra", allowed: ["owner", "admin"] },
  { path: "/settings/integrations/entra/disconnect", allowed: ["owner", "admin"] },
  { path: "/audit", allowed: ["owner", "admin"] },
];

describe("pages by role", () => {
  for (const { path, allowed } of PAGES) {
    for (const role of ROLES) {
      const expected = allowed.includes(role) ? 200 : 403;
      it(`${role} GET ${path} → ${expected}`, async () => {
        const { status, html } = await browsers[role].page(path);
        expect(status).toBe(expected);
        if (expected === 403) expect(html).toContain("have access to this");
      });
    }
  }

  it("shows management controls only to Owners and Admins", async () => {
    expect((await browsers.owner.page("/users")).html).toContain("Send invitation");
    expect((await browsers.admin.page("/users")).html).toContain("Send invitation");
    expect((await browsers.manager.page("/users")).html).not.toContain("Send invitation");
    expect((await browsers.member.page("/users")).html).not.toContain("Save role");
  });
});

describe("actions by role", () => {
  const ACTIONS: { name: string; path: string; fields: Record<string, string> }[] = [
    { name: "invite", path: "/users/invitations", fields: { email: "new.person@contoso.example", role: "member" } },
    { name: "change a role", path: `/users/${TEST_USER_IDS.sam}/role`, fields: { role: "viewer" } },
    { name: "deactivate", path: `/users/${DEMO_USER_IDS.diego}/deactivate`, fields: {} },
    { name: "reactivate", path: `/users/${DEMO_USER_IDS.diego}/reactivate`, fields: {} },
    { name: "connect Entra ID", path: "/settings/integrations/entra/connect", fields: {} },
    { name: "toggle a feature", path: "/settings/integrations/entra/features/auto-provision", fields: { enabled: "true" } },
    { name: "disconnect", path: "/settings/integrations/entra/disconnect", fields: {} },
  ];
  for (const action of ACTIONS) {
    for (const role of ["manager", "member", "viewer"] as Role[]) {
      it(`${role} cannot ${action.name} (403, nothing changes)`, async () => {
        const before = await env.DB.prepare("select count(*) as n from audit_events").first<{ n: number }>();
        const response = await browsers[role].post(action.path, action.fields);
        expect(response.status).toBe(403);
        const after = await env.DB.prepare("select count(*) as n from audit_events").first<{ n: number }>();
        expect(after?.n).toBe(before?.n);
      });
    }
  }

  it("an Admin invites, changes a role, deactivates and reactivates", async () => {
    const admin = browsers.admin;
    expect((await admin.post("/users/invitations", { email: "New.Hire@Contoso.example", role: "manager" }, { htmx: true })).status).toBe(
      200,
    );
    const invitation = await env.DB.prepare("select role from invitations where email = 'new.hire@contoso.example'").first<{
      role: string;
    }>();
    expect(invitation?.role).toBe("manager");

    const changed = await admin.post(`/users/${TEST_USER_IDS.sam}/role`, { role: "viewer" }, { htmx: true });
    expect(changed.status).toBe(200);
    expect(await changed.text()).toContain("Role updated.");
    expect(
      (await env.DB.prepare("select role from memberships where user_id = ?").bind(TEST_USER_IDS.sam).first<{ role: string }>())?.role,
    ).toBe("viewer");

    expect((await admin.post(`/users/${DEMO_USER_IDS.diego}/deactivate`)).status).toBe(303);
    const diego = await env.DB.prepare("select status, deactivated_reason from memberships where user_id = ?")
      .bind(DEMO_USER_IDS.diego)
      .first();
    expect(diego).toEqual({ status: "deactivated", deactivated_reason: "by_hand" });
    expect((await admin.post(`/users/${DEMO_USER_IDS.diego}/reactivate`)).status).toBe(303);
    expect(
      (await env.DB.prepare("select status from memberships where user_id = ?").bind(DEMO_USER_IDS.diego).first<{ status: string }>())
        ?.status,
    ).toBe("active");

    const audit = await env.DB.prepare("select action from audit_events where actor_user_id = ? order by id")
      .bind(TEST_USER_IDS.alex)
      .all<{ action: string }>();
    expect(audit.results.map((r) => r.action)).toEqual([
      "member.invited",
      "member.role_changed",
      "member.deactivated",
      "member.reactivated",
    ]);
  });

  it("an Admin cannot touch an Owner or make anyone an Owner", async () => {
    const admin = browsers.admin;
    expect((await admin.post(`/users/${DEMO_USER_IDS.adele}/role`, { role: "member" })).status).toBe(403);
    expect((await admin.post(`/users/${DEMO_USER_IDS.adele}/deactivate`)).status).toBe(403);
    expect((await admin.post(`/users/${TEST_USER_IDS.megan}/role`, { role: "owner" })).status).toBe(403);
    expect((await admin.post("/users/invitations", { email: "boss@contoso.example", role: "owner" })).status).toBe(403);
  });

  it("rejects an unknown role, a bad email, an oversized field and a malformed id with a clear message", async () => {
    const owner = browsers.owner;
    const unknownRole = await owner.post(`/users/${TEST_USER_IDS.megan}/role`, { role: "superuser" }, { htmx: true });
    expect(unknownRole.status).toBe(400);
    expect(await unknownRole.text()).toContain("Choose one of the roles");
    const badEmail = await owner.post("/users/invitations", { email: "not-an-email", role: "member" });
    expect(badEmail.status).toBe(400);
    expect(await badEmail.text()).toContain("Enter a valid email address.");
    const long = await owner.post("/users/invitations", { email: `${"a".repeat(300)}@contoso.example`, role: "member" });
    expect(long.status).toBe(400);
    const huge = await owner.post("/users/invitations", { email: "x".repeat(70_000), role: "member" });
    expect(huge.status).toBe(400);
    expect((await owner.post("/users/not-a-uuid/deactivate")).status).toBe(400);
    expect(
      (await env.DB.prepare("select role from memberships where user_id = ?").bind(TEST_USER_IDS.megan).first<{ role: string }>())?.role,
    ).toBe("manager");
  });
});

describe("CSRF", () => {
  it("refuses a state change without the token, with a foreign Origin, or cross-site", async () => {
    const owner = browsers.owner;
    const path = `/users/${TEST_USER_IDS.megan}/role`;
    expect((await owner.post(path, { role: "viewer" }, { csrf: null })).status).toBe(403);
    expect((await owner.post(path, { role: "viewer" }, { csrf: "forged" })).status).toBe(403);
    expect((await owner.post(path, { role: "viewer" }, { origin: "https://evil.example" })).status).toBe(403);
    // Another user's token does not work in this session.
    expect((await owner.post(path, { role: "viewer" }, { csrf: browsers.admin.csrfToken })).status).toBe(403);
    expect(
      (await env.DB.prepare("select role from memberships where user_id = ?").bind(TEST_USER_IDS.megan).first<{ role: string }>())?.role,
    ).toBe("manager");
  });
});

describe("across organizations", () => {
  it("a Fabrikam Owner cannot read or change Contoso by changing ids", async () => {
    const lee = await signedIn("lee");
    const users = await lee.page("/users");
    expect(users.html).toContain("Lee Gu");
    expect(users.html).not.toContain("Adele Vance");
    expect((await lee.post(`/users/${DEMO_USER_IDS.diego}/deactivate`)).status).toBe(404);
    expect((await lee.post(`/users/${DEMO_USER_IDS.adele}/role`, { role: "viewer" })).status).toBe(404);
    expect((await lee.post("/organizations/switch", { organizationId: DEMO_ORGS.contoso.id })).status).toBe(403);
    expect((await lee.post("/settings/integrations/entra/connect")).status).toBe(403);
    const entra = await lee.page("/settings/integrations/entra");
    expect(entra.html).toContain("Plan required: Enterprise");
    const diego = await env.DB.prepare("select status from memberships where user_id = ?")
      .bind(DEMO_USER_IDS.diego)
      .first<{ status: string }>();
    expect(diego?.status).toBe("active");
    const adele = await env.DB.prepare("select role from memberships where user_id = ?")
      .bind(DEMO_USER_IDS.adele)
      .first<{ role: string }>();
    expect(adele?.role).toBe("owner");
  });
});
