// The organization's members are its SCIM Users from Generate token on: a provider that lists
// /Users (Okta's import, its published test suite's first request) or matches by userName (Entra)
// finds the people already there, reads and changes them like any User; a POST for one of them (by
// email) claims that User instead of a 409; DELETE makes it a 404, as for any User.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { DEMO_ORGS, DEMO_USER_IDS, signedIn } from "../support/people.ts";
import { PATCH_OP, SCIM_USER, scimRequest } from "../support/scim.ts";
import { resetDemoWorld } from "../support/world.ts";

let token: string;

beforeEach(async () => {
  await resetDemoWorld();
  const adele = await signedIn("adele");
  await adele.page("/settings/integrations/scim");
  await adele.post("/settings/integrations/scim/tokens");
  token = /scim_[0-9a-f]{32}_[A-Za-z0-9_-]{43}/.exec((await adele.page("/settings/integrations/scim")).html)![0];
});

const q = (filter: string) => encodeURIComponent(filter);

describe("the seeded members as SCIM Users", () => {
  it("lists them, pages them, and finds one by userName", async () => {
    const list = await scimRequest(token, "GET", "Users?startIndex=1&count=1");
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ totalResults: 2, itemsPerPage: 1, startIndex: 1 });
    const first = (list.body!.Resources as { id: string }[])[0]!;
    expect((await scimRequest(token, "GET", `Users/${first.id}`)).status).toBe(200);

    const adele = await scimRequest(token, "GET", `Users?filter=${q('userName eq "ADELE@contoso.example"')}`);
    expect(adele.body).toMatchObject({
      totalResults: 1,
      Resources: [
        {
          id: DEMO_USER_IDS.adele,
          userName: "adele@contoso.example",
          displayName: "Adele Vance",
          active: true,
          emails: [{ value: "adele@contoso.example", type: "work", primary: true }],
          meta: { resourceType: "User" },
        },
      ],
    });
  });

  it("lets a POST for a member with another userName claim that member's User (201, their id), once", async () => {
    const body = { schemas: [SCIM_USER], userName: "adele", emails: [{ value: "adele@contoso.example", primary: true }], active: true };
    const claimed = await scimRequest(token, "POST", "Users", body);
    expect(claimed.status).toBe(201);
    expect(claimed.body).toMatchObject({ id: DEMO_USER_IDS.adele, userName: "adele" });
    const again = await scimRequest(token, "POST", "Users", { ...body, userName: "adele.vance" });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ scimType: "uniqueness" });
  });

  it("changes them like any User, and a DELETE is a 404 after", async () => {
    const patched = await scimRequest(token, "PATCH", `Users/${DEMO_USER_IDS.diego}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: "replace", path: "active", value: false }],
    });
    expect(patched.status).toBe(200);
    const status = await env.DB.prepare("select status from memberships where user_id = ? and organization_id = ?")
      .bind(DEMO_USER_IDS.diego, DEMO_ORGS.contoso.id)
      .first("status");
    expect(status).toBe("deactivated");
    expect((await scimRequest(token, "DELETE", `Users/${DEMO_USER_IDS.diego}`)).status).toBe(204);
    expect((await scimRequest(token, "GET", `Users/${DEMO_USER_IDS.diego}`)).status).toBe(404);
    expect((await scimRequest(token, "GET", "Users")).body).toMatchObject({ totalResults: 1 });
  });

  it("never lets the provider deactivate the last active Owner", async () => {
    const refused = await scimRequest(token, "PATCH", `Users/${DEMO_USER_IDS.adele}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: "replace", path: "active", value: false }],
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ scimType: "mutability" });
  });
});
