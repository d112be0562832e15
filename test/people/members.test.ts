// Last-Owner protection, deactivation ending sessions at once, and several organizations per user.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { DEMO_ORGS, DEMO_USER_IDS } from "../../demo/seed.ts";
import { resetDemoWorld } from "../support/world.ts";
import { TEST_USER_IDS, linkMember, signedIn } from "../support/people.ts";

const roleOf = async (userId: string) =>
  await env.DB.prepare("select role, status from memberships where organization_id = ? and user_id = ?")
    .bind(DEMO_ORGS.contoso.id, userId)
    .first<{ role: string; status: string }>();

beforeEach(resetDemoWorld);

describe("last-Owner protection", () => {
  it("refuses to demote the only Owner, and allows it once there is another", async () => {
    const adele = await signedIn("adele");
    const refused = await adele.post(`/users/${DEMO_USER_IDS.adele}/role`, { role: "admin" }, { htmx: true });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("last active Owner");
    expect((await roleOf(DEMO_USER_IDS.adele))?.role).toBe("owner");

    await linkMember("alex", { role: "admin" });
    expect((await adele.post(`/users/${TEST_USER_IDS.alex}/role`, { role: "owner" })).status).toBe(303);
    expect((await adele.post(`/users/${DEMO_USER_IDS.adele}/role`, { role: "admin" })).status).toBe(303);
    expect((await roleOf(DEMO_USER_IDS.adele))?.role).toBe("admin");
  });

  it("keeps one Owner when two Owners deactivate each other at the same moment", async () => {
    await linkMember("alex", { role: "owner" });
    const adele = await signedIn("adele");
    const alex = await signedIn("alex");
    const results = await Promise.all([
      adele.post(`/users/${TEST_USER_IDS.alex}/deactivate`),
      alex.post(`/users/${DEMO_USER_IDS.adele}/deactivate`),
    ]);
    const owners = await env.DB.prepare(
      "select count(*) as n from memberships where organization_id = ? and role = 'owner' and status = 'active'",
    )
      .bind(DEMO_ORGS.contoso.id)
      .first<{ n: number }>();
    expect(owners?.n).toBe(1);
    expect(results.map((r) => r.status).sort()).toEqual([303, 409].sort());
  });

  it("does not let anyone deactivate themselves", async () => {
    const adele = await signedIn("adele");
    const response = await adele.post(`/users/${DEMO_USER_IDS.adele}/deactivate`, {}, { htmx: true });
    expect(response.status).toBe(409);
    expect((await roleOf(DEMO_USER_IDS.adele))?.status).toBe("active");
  });
});

describe("deactivation", () => {
  it("ends the member's sessions at once and refuses their next sign-in", async () => {
    await linkMember("alex", { role: "admin" });
    const alex = await signedIn("alex");
    expect((await alex.page("/users")).status).toBe(200);
    const adele = await signedIn("adele");
    expect((await adele.post(`/users/${TEST_USER_IDS.alex}/deactivate`)).status).toBe(303);

    const sessions = await env.DB.prepare("select count(*) as n from sessions where user_id = ?")
      .bind(TEST_USER_IDS.alex)
      .first<{ n: number }>();
    expect(sessions?.n).toBe(0);
    const next = await alex.get("/users");
    expect(next.status).toBe(302);
    expect(next.headers.get("location")).toBe("/sign-in");

    const again = await alex.signInWithMicrosoft("1d3e5a70-2b4c-4d6e-9f80-00000000ad03");
    expect(again.status).toBe(403);
    expect(await again.text()).toContain("deactivated");

    expect((await adele.post(`/users/${TEST_USER_IDS.alex}/reactivate`)).status).toBe(303);
    expect((await alex.signInWithMicrosoft("1d3e5a70-2b4c-4d6e-9f80-00000000ad03")).status).toBe(302);
  });
});

describe("several organizations", () => {
  it("lets a member of two organizations switch between them", async () => {
    await env.DB.prepare(
      "insert or ignore into memberships (organization_id, user_id, role, status, created_at) values (?, ?, 'viewer', 'active', 1)",
    )
      .bind(DEMO_ORGS.fabrikam.id, DEMO_USER_IDS.adele)
      .run();
    const adele = await signedIn("adele");
    const home = await adele.page("/");
    expect(home.html).toContain("Switch");
    expect(home.html).toContain("Fabrikam");
    expect((await adele.post("/organizations/switch", { organizationId: DEMO_ORGS.fabrikam.id })).status).toBe(302);
    const switched = await adele.page("/");
    expect(switched.html).toContain("You are signed in to <strong>Fabrikam</strong>");
    expect((await adele.page("/settings")).status).toBe(403); // a Viewer there
    await env.DB.prepare("delete from memberships where organization_id = ? and user_id = ?")
      .bind(DEMO_ORGS.fabrikam.id, DEMO_USER_IDS.adele)
      .run();
  });
});
