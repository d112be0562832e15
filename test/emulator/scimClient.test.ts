// The emulator as a SCIM provisioning client (emulator/src/scimClient.tsx): it pushes Contoso's
// people and groups to the app's /scim/v2 in Entra provisioning's request shapes, and deactivates one
// with Entra's `"value": "False"`; pushed again, it finds what it made and creates nothing twice.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, entraUser } from "../../demo/directory.ts";
import { DEMO_ORGS, DEMO_USER_IDS } from "../../demo/seed.ts";
import { emulatorAdmin } from "../support/emulator.ts";
import { makeScimToken } from "../support/scim.ts";
import { resetDemoWorld } from "../support/world.ts";

const BASE = "http://localhost:8787/scim/v2";
let token: string;

beforeEach(async () => {
  await resetDemoWorld();
  token = await makeScimToken(DEMO_ORGS.contoso.id);
});

interface PushResult {
  users: { oid: string; userName: string; scimId: string | null; action: string; status: number | null }[];
  groups: { displayName: string; id: string | null; action: string; status: number | null }[];
  requests: { method: string; path: string; status: number | null }[];
}

describe("the emulator's SCIM provisioning client", () => {
  it("pushes Contoso's people and groups, adopting the seeded members, then deactivates one", async () => {
    const pushed = await emulatorAdmin<PushResult>("scim/push", { baseUrl: BASE, token, tenantId: CONTOSO_TENANT_ID });
    const megan = pushed.users.find((user) => user.oid === entraUser("megan").oid)!;
    expect(megan).toMatchObject({ action: "created", status: 201 });
    // Adele is Contoso's seeded Owner: her email links the pushed User to her membership.
    expect(pushed.users.find((user) => user.oid === entraUser("adele").oid)).toMatchObject({ scimId: DEMO_USER_IDS.adele, status: 201 });
    expect(pushed.groups.map((group) => group.displayName).sort()).toEqual([
      "All Staff",
      "IT Staff",
      "UniAsset Admins",
      "UniAsset Managers",
    ]);
    // All Staff: Adele, Megan, Alex, Diego, Jordan and Isaiah (of contoso-uk.example, issue 20).
    expect(pushed.groups.find((group) => group.displayName === "All Staff")).toMatchObject({ action: "created, 6 added", status: 204 });
    expect(new Set(pushed.requests.map((request) => request.status))).toEqual(new Set([200, 201, 204]));

    const stored = await env.DB.prepare("select external_id as externalId, entra_object_id as oid from scim_users where user_id = ?")
      .bind(megan.scimId)
      .first<{ externalId: string; oid: string }>();
    expect(stored).toEqual({ externalId: entraUser("megan").oid, oid: entraUser("megan").oid });
    // Diego's account is disabled in Entra: pushed with active false, so the seeded member is deactivated.
    const diego = await env.DB.prepare(
      "select status, deactivated_reason as reason from memberships where user_id = ? and organization_id = ?",
    )
      .bind(DEMO_USER_IDS.diego, DEMO_ORGS.contoso.id)
      .first();
    expect(diego).toEqual({ status: "deactivated", reason: "scim" });

    // A second push finds everything: nothing is created twice.
    const again = await emulatorAdmin<PushResult>("scim/push", { baseUrl: BASE, token });
    expect(again.users.every((user) => user.action === "updated" && user.status === 200)).toBe(true);
    expect(await env.DB.prepare("select count(*) as n from scim_groups").first("n")).toBe(4);

    const off = await emulatorAdmin<{ status: number }>("scim/deactivate", { baseUrl: BASE, token, oid: entraUser("megan").oid });
    expect(off.status).toBe(200);
    const status = await env.DB.prepare("select status from memberships where user_id = ?").bind(megan.scimId).first("status");
    expect(status).toBe("deactivated");
  });

  it("refuses a push without a token, and a wrong token is answered 401 by the app", async () => {
    const missing = await env.EMULATOR.fetch("http://localhost:8788/_emulator/scim/push", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ baseUrl: BASE }),
    });
    expect(missing.status).toBe(400);
    const wrong = await emulatorAdmin<PushResult>("scim/push", {
      baseUrl: BASE,
      token: `scim_${"0".repeat(32)}_${"a".repeat(43)}`,
      groups: false,
    });
    expect(wrong.users.every((user) => user.status === 401 && user.scimId === null)).toBe(true);
  });

  it("serves a page with the two actions", async () => {
    const page = await env.EMULATOR.fetch("http://localhost:8788/_emulator/scim");
    const html = await page.text();
    expect(html).toContain("Push Contoso");
    expect(html).toContain("Megan Bowen");
  });
});
