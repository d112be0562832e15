// Microsoft Graph as the emulator serves it over the demo directory: authorization, $select,
// paging, delta rounds (and their expiry), group search and transitive memberships.
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, entraUser, GROUP_IDS } from "../../demo/directory.ts";
import { EMULATOR, graph, graphToken, microsoftTokens } from "./helpers.ts";
import { emulatorAdmin } from "../support/emulator.ts";

const adele = entraUser("adele");
const alex = entraUser("alex");
let token: string;

type Page = { value: Record<string, unknown>[]; "@odata.nextLink"?: string; "@odata.deltaLink"?: string; "@odata.context"?: string };

async function json(path: string, headers: Record<string, string> = {}): Promise<Page> {
  const res = await graph(path, token, headers);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

/** Follows nextLinks to the end; returns every item and the final page. */
async function all(path: string): Promise<{ items: Record<string, unknown>[]; pages: number; last: Page }> {
  const items: Record<string, unknown>[] = [];
  let page = await json(path);
  let pages = 1;
  items.push(...page.value);
  while (page["@odata.nextLink"]) {
    page = await json(page["@odata.nextLink"]);
    pages++;
    items.push(...page.value);
  }
  return { items, pages, last: page };
}

beforeEach(async () => {
  await emulatorAdmin("reset");
  token = await graphToken(adele.oid);
});

describe("authorization", () => {
  it("answers 401 InvalidAuthenticationToken without a valid token, in Graph's error shape", async () => {
    for (const t of ["", "not-a-token"]) {
      const res = await graph("/v1.0/users", t);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string; message: string; innerError: Record<string, string> } };
      expect(body.error.code).toBe("InvalidAuthenticationToken");
      expect(body.error.innerError["request-id"]).toBeTruthy();
      expect(body.error.innerError.date).toBeTruthy();
    }
  });

  it("answers 403 Authorization_RequestDenied to a sign-in-only token", async () => {
    const signIn = (await microsoftTokens(adele.oid)).access_token as string;
    const res = await graph("/v1.0/users", signIn);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("Authorization_RequestDenied");
  });

  it("expires access tokens on demand", async () => {
    await emulatorAdmin("access-tokens/expire");
    const res = await graph("/v1.0/organization", token);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/expired/);
  });
});

it("describes the token's tenant under /organization", async () => {
  const { value } = await json("/v1.0/organization?$select=id,displayName,verifiedDomains");
  expect(value).toEqual([
    {
      id: CONTOSO_TENANT_ID,
      displayName: "Contoso Ltd",
      verifiedDomains: [
        { name: "contoso.example", isDefault: true, isInitial: false, type: "Managed", capabilities: "Email, OfficeCommunicationsOnline" },
        {
          name: "contoso-uk.example",
          isDefault: false,
          isInitial: false,
          type: "Managed",
          capabilities: "Email, OfficeCommunicationsOnline",
        },
        {
          name: "contoso.onmicrosoft.com",
          isDefault: false,
          isInitial: true,
          type: "Managed",
          capabilities: "Email, OfficeCommunicationsOnline",
        },
      ],
    },
  ]);
});

describe("users", () => {
  it("pages with $top and absolute nextLinks, keeping $select", async () => {
    const first = await json("/v1.0/users?$select=displayName,mail&$top=2");
    expect(first["@odata.context"]).toBe(`${EMULATOR}/v1.0/$metadata#users(displayName,mail)`);
    expect(first.value).toEqual([
      { id: adele.oid, displayName: "Adele Vance", mail: "adele@contoso.example" },
      { id: entraUser("megan").oid, displayName: "Megan Bowen", mail: "megan@contoso.example" },
    ]);
    expect(first["@odata.nextLink"]).toMatch(new RegExp(`^${EMULATOR}/v1\\.0/users\\?.*\\$skiptoken=`));
    const { items, pages } = await all("/v1.0/users?$select=userPrincipalName,userType,accountEnabled&$top=2");
    expect(pages).toBe(4);
    expect(items.map((u) => u.userPrincipalName)).toEqual([
      "adele@contoso.example",
      "megan@contoso.example",
      "alex@contoso.example",
      "diego@contoso.example",
      "jordan_fabrikam.example#EXT#@contoso.onmicrosoft.com",
      "casey_fabrikam.example#EXT#@contoso.onmicrosoft.com",
      "isaiah@contoso-uk.example",
    ]);
    expect(items.filter((u) => u.userType === "Guest")).toHaveLength(2);
    expect(items.filter((u) => u.accountEnabled === false)).toHaveLength(1);
    expect(Object.keys(items[0]!).sort()).toEqual(["accountEnabled", "id", "userPrincipalName", "userType"]);
  });

  it("refuses query options it does not implement instead of ignoring them", async () => {
    const res = await graph("/v1.0/users?$filter=accountEnabled eq true", token);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("Request_UnsupportedQuery");
    expect((await graph("/v1.0/groups?$filter=displayName eq 'IT Staff'", token)).status).toBe(400);
  });

  it("rejects unknown $select properties and page sizes over 999", async () => {
    expect((await graph("/v1.0/users?$select=shoeSize", token)).status).toBe(400);
    const res = await graph("/v1.0/users?$top=1000", token);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("Request_BadRequest");
  });

  it("gets one user and answers 404 Request_ResourceNotFound after deletion", async () => {
    expect(((await json(`/v1.0/users/${alex.oid}`)) as unknown as Record<string, unknown>).displayName).toBe("Alex Wilber");
    await emulatorAdmin(`users/${alex.oid}/delete`);
    const res = await graph(`/v1.0/users/${alex.oid}`, token);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("Request_ResourceNotFound");
    expect((await all("/v1.0/users")).items.map((u) => u.id)).not.toContain(alex.oid);
  });
});

describe("delta", () => {
  it("lists everyone, then only what changed, with removals", async () => {
    const initial = await all("/v1.0/users/delta?$select=displayName,accountEnabled&$top=2");
    expect(initial.items).toHaveLength(7);
    expect(initial.last["@odata.nextLink"]).toBeUndefined();
    const deltaLink = initial.last["@odata.deltaLink"]!;
    expect(deltaLink).toMatch(new RegExp(`^${EMULATOR}/v1\\.0/users/delta\\?.*\\$deltatoken=`));

    const quiet = await json(deltaLink);
    expect(quiet.value).toEqual([]);

    await emulatorAdmin(`users/${alex.oid}/disable`);
    await emulatorAdmin(`users/${entraUser("megan").oid}/delete`);
    const created = await emulatorAdmin("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Nestor Wilke",
      userPrincipalName: "nestor@contoso.example",
    });
    // The deltaLink keeps $top=2, so three changes come in two pages.
    const changes = await all(quiet["@odata.deltaLink"]!);
    expect(changes.pages).toBe(2);
    expect(changes.items).toEqual([
      { id: alex.oid, displayName: "Alex Wilber", accountEnabled: false },
      { id: entraUser("megan").oid, "@removed": { reason: "changed" } },
      { id: created.oid, displayName: "Nestor Wilke", accountEnabled: true },
    ]);
    expect((await json(changes.last["@odata.deltaLink"]!)).value).toEqual([]);
  });

  it("gives a delta link for now with $deltatoken=latest, from which later changes appear", async () => {
    const latest = await json("/v1.0/users/delta?$select=accountEnabled&$deltatoken=latest");
    expect(latest.value).toEqual([]);
    expect(latest["@odata.nextLink"]).toBeUndefined();
    await emulatorAdmin(`users/${alex.oid}/disable`);
    const changes = await all(latest["@odata.deltaLink"]!);
    expect(changes.items).toEqual([{ id: alex.oid, accountEnabled: false }]);
  });

  it("answers 410 syncStateNotFound once delta tokens are expired", async () => {
    const { last } = await all("/v1.0/users/delta");
    await emulatorAdmin("delta/expire");
    const res = await graph(last["@odata.deltaLink"]!, token);
    expect(res.status).toBe(410);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("syncStateNotFound");
  });
});

describe("groups", () => {
  it("resolves a user's groups transitively through nesting", async () => {
    const { items } = await all(`/v1.0/users/${alex.oid}/transitiveMemberOf/microsoft.graph.group?$select=displayName`);
    expect(items.map((g) => g.displayName).sort()).toEqual(["All Staff", "IT Staff", "UniAsset Admins"]);
    expect(Object.keys(items[0]!).sort()).toEqual(["displayName", "id"]);
  });

  it("expands nested groups in a group's transitive members", async () => {
    const { items } = await all(`/v1.0/groups/${GROUP_IDS.uniassetAdmins}/transitiveMembers/microsoft.graph.user`);
    expect(items.map((u) => u.id)).toEqual([alex.oid]);
    const direct = await all(`/v1.0/groups/${GROUP_IDS.uniassetAdmins}/members`);
    expect(direct.items).toEqual([]);
  });

  it("follows membership changes from the admin API", async () => {
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetAdmins}/members`, { oid: adele.oid });
    await emulatorAdmin(`groups/${GROUP_IDS.itStaff}/members/${alex.oid}`, undefined, "DELETE");
    const { items } = await all(`/v1.0/groups/${GROUP_IDS.uniassetAdmins}/transitiveMembers/microsoft.graph.user`);
    expect(items.map((u) => u.id)).toEqual([adele.oid]);
  });

  it("pages through a large group's members", async () => {
    const group = await emulatorAdmin("groups", { tenantId: CONTOSO_TENANT_ID, displayName: "Big Group", memberCount: 250 });
    const { items, pages } = await all(`/v1.0/groups/${group.id}/transitiveMembers/microsoft.graph.user?$top=100`);
    expect(pages).toBe(3);
    expect(new Set(items.map((u) => u.id)).size).toBe(250);
  });

  it("pages through a user in more than 200 groups", async () => {
    await emulatorAdmin(`users/${adele.oid}/bulk-groups`, { count: 230 });
    const { items, pages } = await all(`/v1.0/users/${adele.oid}/transitiveMemberOf/microsoft.graph.group`);
    expect(pages).toBe(3);
    expect(items).toHaveLength(231);
  });

  it("filters by startswith and searches by word with ConsistencyLevel: eventual", async () => {
    const filtered = await json("/v1.0/groups?$filter=startswith(displayName,'UniAsset')&$select=displayName");
    expect(filtered.value.map((g) => g.displayName)).toEqual(["UniAsset Admins", "UniAsset Managers"]);
    const noHeader = await graph(`/v1.0/groups?$search="displayName:staff"`, token);
    expect(noHeader.status).toBe(400);
    expect(((await noHeader.json()) as { error: { code: string } }).error.code).toBe("Request_UnsupportedQuery");
    const searched = await json(`/v1.0/groups?$search="displayName:staff"`, { ConsistencyLevel: "eventual" });
    expect(searched.value.map((g) => g.displayName)).toEqual(["IT Staff", "All Staff"]);
    await emulatorAdmin(`groups/${GROUP_IDS.allStaff}/rename`, { displayName: "Everyone" });
    expect(((await json(`/v1.0/groups/${GROUP_IDS.allStaff}`)) as unknown as Record<string, unknown>).displayName).toBe("Everyone");
  });
});
