// A 100k-user synthetic tenant: users computed from (seed, index), listed in 999-user pages.
import { beforeEach, expect, it } from "vitest";
import { EMULATOR, graph, graphToken, microsoftAuthorizeUrl, pkce } from "./helpers.ts";
import { emulatorAdmin } from "../support/emulator.ts";

type Page = { value: Record<string, unknown>[]; "@odata.nextLink"?: string; "@odata.deltaLink"?: string };

let tenant: Record<string, unknown>;
let token: string;

beforeEach(async () => {
  await emulatorAdmin("reset");
  tenant = await emulatorAdmin("synthetic-tenants", { users: 100_000, disabledPercent: 1, groups: 10, seed: 42, domain: "big.example" });
  token = await graphToken(tenant.adminOid as string, tenant.tenantId as string);
});

async function page(url: string): Promise<Page> {
  const res = await graph(url, token);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

it("lists 100k users in 999-user pages, every 100th disabled", { timeout: 60_000 }, async () => {
  let url: string | undefined = "/v1.0/users/delta?$select=userPrincipalName,accountEnabled&$top=999";
  let pages = 0;
  let users = 0;
  let disabled = 0;
  let first: Page | undefined;
  let last: Page | undefined;
  while (url) {
    last = await page(url);
    first ??= last;
    pages++;
    users += last.value.length;
    disabled += last.value.filter((u) => u.accountEnabled === false).length;
    url = last["@odata.nextLink"];
  }
  expect(pages).toBe(101);
  expect(users).toBe(100_000);
  expect(disabled).toBe(1000);
  expect(first!.value).toHaveLength(999);
  expect(first!.value[0]).toMatchObject({ id: tenant.adminOid, userPrincipalName: "user0@big.example", accountEnabled: true });
  expect(last!.value).toHaveLength(100);
  expect(last!.value.at(-1)!.userPrincipalName).toBe("user99999@big.example");
  expect(last!["@odata.deltaLink"]).toMatch(new RegExp(`^${EMULATOR}/v1\\.0/users/delta\\?`));
});

it("keeps admin changes as an overlay visible to delta, /users/{id} and group members", async () => {
  const initialDelta = await page("/v1.0/users/delta?$top=1");
  expect(initialDelta["@odata.nextLink"]).toBeTruthy();
  const user5 = (await page("/v1.0/users?$top=6")).value[5]!;
  expect(user5.userPrincipalName).toBe("user5@big.example");
  await emulatorAdmin(`users/${user5.id}/disable`);
  expect(((await page(`/v1.0/users/${user5.id}?$select=accountEnabled`)) as unknown as Record<string, unknown>).accountEnabled).toBe(false);
  expect(((await page("/v1.0/users/user7@big.example")) as unknown as Record<string, unknown>).displayName).toBe("Synthetic User 7");

  const groupIds = tenant.groupIds as string[];
  await emulatorAdmin(`groups/${groupIds[5]}/members/${user5.id}`, undefined, "DELETE");
  const members = await page(`/v1.0/groups/${groupIds[5]}/transitiveMembers/microsoft.graph.user?$top=3&$select=userPrincipalName`);
  expect(members.value.map((u) => u.userPrincipalName)).toEqual(["user15@big.example", "user25@big.example", "user35@big.example"]);
  const memberOf = await page(`/v1.0/users/${user5.id}/transitiveMemberOf/microsoft.graph.group`);
  expect(memberOf.value).toEqual([]);
  const org = await page("/v1.0/organization");
  expect(org.value[0]).toMatchObject({
    id: tenant.tenantId,
    verifiedDomains: [
      expect.objectContaining({ name: "big.example", isDefault: true, isInitial: false }),
      expect.objectContaining({ name: expect.stringMatching(/^synthetic[0-9a-f]+\.onmicrosoft\.com$/), isInitial: true }),
    ],
  });
});

it("offers only the synthetic admin on the multi-tenant picker", async () => {
  const { challenge } = await pkce();
  const html = await (await fetch(microsoftAuthorizeUrl({ challenge, tenant: "organizations" }))).text();
  expect(html).toContain("Synthetic Admin — user0@big.example");
  expect(html).not.toContain("Synthetic User 1 ");
  expect(html).toContain("Adele Vance");
});
