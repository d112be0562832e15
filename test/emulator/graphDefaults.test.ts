// Graph's default property set for users and "limited information" for directory roles the token
// cannot read, as Microsoft documents them (see emulator/README.md for the pages).
import { beforeEach, describe, expect, it } from "vitest";
import { entraUser } from "../../demo/directory.ts";
import { graph, graphToken, microsoftTokens } from "./helpers.ts";
import { emulatorAdmin } from "../support/emulator.ts";

const adele = entraUser("adele");
const megan = entraUser("megan");
const DEFAULT_KEYS = [
  "businessPhones",
  "displayName",
  "givenName",
  "id",
  "jobTitle",
  "mail",
  "mobilePhone",
  "officeLocation",
  "preferredLanguage",
  "surname",
  "userPrincipalName",
];

async function body(path: string, token: string): Promise<Record<string, unknown> & { value: Record<string, unknown>[] }> {
  const res = await graph(path, token);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown> & { value: Record<string, unknown>[] };
}

beforeEach(async () => {
  await emulatorAdmin("reset");
});

describe("users without $select", () => {
  it("lists only Microsoft's default properties; accountEnabled and userType only when selected", async () => {
    const token = await graphToken(adele.oid);
    const { value } = await body("/v1.0/users", token);
    for (const user of value) expect(Object.keys(user).sort()).toEqual(DEFAULT_KEYS);
    expect(value[0]).toMatchObject({
      id: adele.oid,
      displayName: "Adele Vance",
      givenName: "Adele",
      surname: "Vance",
      businessPhones: [],
      jobTitle: "Chief Executive Officer",
    });
    const one = (await body(`/v1.0/users/${megan.oid}`, token)) as Record<string, unknown>;
    expect(one).not.toHaveProperty("accountEnabled");
    expect(one).not.toHaveProperty("userType");
    expect(one.userPrincipalName).toBe("megan@contoso.example");
    const selected = (await body(`/v1.0/users/${megan.oid}?$select=accountEnabled,userType`, token)) as Record<string, unknown>;
    expect(selected).toMatchObject({ id: megan.oid, accountEnabled: true, userType: "Member" });
    expect(selected).not.toHaveProperty("displayName");
  });

  it("uses the default set in delta rounds too", async () => {
    const token = await graphToken(adele.oid);
    const { value } = await body("/v1.0/users/delta", token);
    expect(Object.keys(value[0]!).sort()).toEqual(DEFAULT_KEYS);
  });
});

describe("directory roles in transitiveMemberOf", () => {
  const rolesPath = "/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole";

  it("come back with limited information to a token with only User.Read.All and Group.Read.All", async () => {
    const token = await graphToken(adele.oid);
    const { value } = await body(`${rolesPath}?$select=id,displayName,roleTemplateId`, token);
    expect(value).toHaveLength(1);
    expect(value[0]).toEqual({
      "@odata.type": "#microsoft.graph.directoryRole",
      id: expect.any(String),
      displayName: null,
      roleTemplateId: null,
    });
    const all = await body(`/v1.0/users/${adele.oid}/transitiveMemberOf`, token);
    const role = all.value.find((o) => o["@odata.type"] === "#microsoft.graph.directoryRole")!;
    expect(role.roleTemplateId).toBeNull();
    expect(all.value.filter((o) => o["@odata.type"] === "#microsoft.graph.group").map((g) => g.displayName)).toEqual(["All Staff"]);
  });

  it("come back in full with RoleManagement.Read.Directory (or Directory.Read.All)", async () => {
    await graphToken(adele.oid); // the admin consents for the tenant
    for (const permission of ["RoleManagement.Read.Directory", "Directory.Read.All"]) {
      const tokens = await microsoftTokens(adele.oid, {
        scope: `openid https://graph.microsoft.com/GroupMember.Read.All https://graph.microsoft.com/${permission}`,
      });
      const { value } = await body(rolesPath, tokens.access_token as string);
      expect(value).toEqual([
        {
          "@odata.type": "#microsoft.graph.directoryRole",
          id: expect.any(String),
          displayName: "Global Administrator",
          description: expect.any(String),
          roleTemplateId: "62e90394-69f5-4237-9190-012177145e10",
        },
      ]);
    }
  });

  it("lists no roles for a user who holds none", async () => {
    const token = await graphToken(adele.oid);
    const meganToken = (await microsoftTokens(megan.oid, { scope: "openid https://graph.microsoft.com/Directory.Read.All" }))
      .access_token as string;
    expect(token).toBeTruthy();
    expect((await body(rolesPath, meganToken)).value).toEqual([]);
  });
});
