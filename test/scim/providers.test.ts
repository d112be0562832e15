// The request sequences Microsoft Entra and Okta document, replayed as written (ids and values
// included) against the protocol core:
// - Entra: "SCIM protocol requests and responses" and "Handling provisioning and deprovisioning
//   of users" of https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups,
//   and the with/without-flag pairs of
//   https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
// - Okta: https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20/ (SCIM 2.0 reference).
import { beforeEach, describe, expect, it } from "vitest";
import { ENTERPRISE_USER_SCHEMA } from "../../src/scim/schema.ts";
import { ScimTarget } from "./scimTarget.ts";

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const q = (filter: string) => encodeURIComponent(filter);

let target: ScimTarget;
beforeEach(() => {
  target = new ScimTarget();
});

describe("Microsoft Entra provisioning", () => {
  const createUser = () =>
    target.send("POST", "Users", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
      externalId: "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
      userName: "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
      active: true,
      emails: [{ primary: true, type: "work", value: "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com" }],
      meta: { resourceType: "User" },
      name: { formatted: "givenName familyName", familyName: "familyName", givenName: "givenName" },
      roles: [],
    });

  it("Test Connection: a query for a user that does not exist is an empty ListResponse", () => {
    const reply = target.send("GET", `Users?filter=${q('userName eq "3d2c4a1e-0b9f-4c1d-9e8a-7f6b5c4d3e2f"')}`);
    expect(reply).toEqual({ status: 200, body: { schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] } });
  });

  it("creates, finds, updates, disables and deletes a user as the tutorial's User Operations show", () => {
    const created = createUser();
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      externalId: "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
      userName: "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
      active: true,
      emails: [{ value: "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com", type: "work", primary: true }],
      meta: { resourceType: "User" },
    });
    const id = created.body!.id as string;

    const byQuery = target.send("GET", `Users?filter=${q('userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"')}`);
    expect(byQuery.body).toMatchObject({ totalResults: 1, Resources: [{ id }] });
    expect(target.send("GET", `Users?filter=${q('userName eq "non-existent user"')}`).body).toMatchObject({
      totalResults: 0,
      Resources: [],
    });
    // "a GET to /Users with a filter must allow for both userName eq … and emails[type eq "work"].value eq … queries."
    expect(
      target.send(
        "GET",
        `Users?filter=${q('emails[type eq "work"].value eq "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"')}`,
      ).body,
    ).toMatchObject({ totalResults: 1 });

    // Update User [Multi-valued properties]
    expect(
      target.send("PATCH", `Users/${id}`, {
        schemas: [PATCH_OP],
        Operations: [
          { op: "Replace", path: 'emails[type eq "work"].value', value: "updatedEmail@microsoft.com" },
          { op: "Replace", path: "name.familyName", value: "updatedFamilyName" },
        ],
      }).body,
    ).toMatchObject({
      name: { familyName: "updatedFamilyName", givenName: "givenName" },
      emails: [{ value: "updatedEmail@microsoft.com", type: "work", primary: true }],
    });

    // Update User [Single-valued properties]
    expect(
      target.send("PATCH", `Users/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "Replace", path: "userName", value: "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com" }],
      }).body,
    ).toMatchObject({ userName: "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com" });

    // Disable User: the user is still returned, inactive.
    const disabled = target.send("PATCH", `Users/${id}`, {
      Operations: [{ op: "Replace", path: "active", value: false }],
      schemas: [PATCH_OP],
    });
    expect(disabled.body).toMatchObject({ active: false });
    expect(target.send("GET", `Users/${id}`).body).toMatchObject({ active: false });

    expect(target.send("DELETE", `Users/${id}`).status).toBe(204);
    expect(target.send("GET", `Users/${id}`)).toMatchObject({
      status: 404,
      body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "404" },
    });
  });

  it("matches by externalId with the documentation's unquoted value, and creates jyoung with its null attributes", () => {
    expect(target.send("GET", "Users?filter=externalId eq jyoung").body).toMatchObject({ totalResults: 0 });
    const created = target.send("POST", "Users", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
      externalId: "jyoung",
      userName: "jyoung@testuser.com",
      active: true,
      addresses: null,
      displayName: "Joy Young",
      emails: [{ type: "work", value: "jyoung@Contoso.com", primary: true }],
      meta: { resourceType: "User" },
      name: { familyName: "Young", givenName: "Joy" },
      phoneNumbers: null,
      preferredLanguage: null,
      title: null,
      department: null,
      manager: null,
    });
    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty("addresses");
    expect(target.send("GET", "Users?filter=externalId eq jyoung").body).toMatchObject({ totalResults: 1 });
    // externalId is caseExact: another case is another user.
    expect(target.send("GET", `Users?filter=${q('externalId eq "JYOUNG"')}`).body).toMatchObject({ totalResults: 0 });
    // userName is not.
    expect(target.send("GET", `Users?filter=${q('userName eq "JYOUNG@testuser.com"')}`).body).toMatchObject({ totalResults: 1 });

    // Example 5: the manager, added unqualified and as a one-element array.
    const id = created.body!.id as string;
    const withManager = target.send("PATCH", `Users/${id}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [
        {
          op: "Add",
          path: "manager",
          value: [{ $ref: "http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee", value: "00aa00aa-bb11-cc22-dd33-44ee44ee44ee" }],
        },
      ],
    });
    expect(withManager.body![ENTERPRISE_USER_SCHEMA]).toEqual({
      manager: { $ref: "http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee", value: "00aa00aa-bb11-cc22-dd33-44ee44ee44ee" },
    });
    // Example 4: Entra checks the manager before updating it.
    expect(
      target.send("GET", `Users?filter=${q(`id eq "${id}" and manager eq "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`)}`).body,
    ).toMatchObject({ totalResults: 1 });
  });

  it("ends in the same state with and without the aadOptscim062020 flag", () => {
    const requests = (flag: boolean) => {
      const local = new ScimTarget();
      const id = local.send("POST", "Users", {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
        userName: "babs@contoso.example",
        active: true,
        emails: [{ type: "work", value: "old@contoso.example" }],
      }).body!.id as string;
      const member = local.send("POST", "Users", { userName: "member@contoso.example" }).body!.id as string;
      const groupId = local.send("POST", "Groups", { displayName: "Sales" }).body!.id as string;
      local.send("PATCH", `Groups/${groupId}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "Add", path: "members", value: [{ $ref: null, value: member }] }],
      });
      const sequence = flag
        ? [
            { op: "add", path: "nickName", value: "Babs" },
            { op: "replace", path: 'emails[type eq "work"].value', value: "TestMhvaes@test.microsoft.com" },
            {
              op: "replace",
              value: {
                displayName: "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
              },
            },
            { op: "replace", path: "active", value: false },
          ]
        : [
            { op: "Add", path: "nickName", value: "Babs" },
            { op: "Replace", path: "displayName", value: "Bjfe" },
            { op: "Replace", path: 'emails[type eq "work"].value', value: "TestMhvaes@test.microsoft.com" },
            { op: "Replace", path: "name.givenName", value: "Kkom" },
            { op: "Replace", path: "name.familyName", value: "Unua" },
            { op: "Replace", path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", value: "Aklq" },
            { op: "Replace", path: "active", value: "False" },
          ];
      for (const operation of sequence)
        expect(local.send("PATCH", `Users/${id}`, { schemas: [PATCH_OP], Operations: [operation] }).status).toBe(200);
      const removal = flag
        ? { op: "remove", path: `members[value eq "${member}"]` }
        : { op: "Remove", path: "members", value: [{ value: member }] };
      expect(local.send("PATCH", `Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [removal] }).status).toBe(204);
      return { user: local.send("GET", `Users/${id}`).body, group: local.send("GET", `Groups/${groupId}`).body };
    };
    const withFlag = requests(true);
    expect(requests(false)).toEqual(withFlag);
    expect(withFlag.user).toMatchObject({
      nickName: "Babs",
      displayName: "Bjfe",
      active: false,
      name: { givenName: "Kkom", familyName: "Unua" },
      emails: [{ type: "work", value: "TestMhvaes@test.microsoft.com" }],
      [ENTERPRISE_USER_SCHEMA]: { employeeNumber: "Aklq" },
    });
    expect(withFlag.group).toMatchObject({ members: [] });
  });

  it("creates, reads, renames and changes the members of a group as the tutorial's Group Operations show", () => {
    const member = target.send("POST", "Users", { userName: "f648f8d5ea4e4cd38e9c@contoso.example" }).body!.id as string;
    const created = target.send("POST", "Groups", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
      externalId: "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
      displayName: "displayName",
      meta: { resourceType: "Group" },
    });
    expect(created).toMatchObject({
      status: 201,
      body: { externalId: "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", displayName: "displayName", members: [] },
    });
    const id = created.body!.id as string;

    expect(target.send("GET", `Groups/${id}?excludedAttributes=members`).body).not.toHaveProperty("members");
    const byName = target.send("GET", `Groups?excludedAttributes=members&filter=${q('displayName eq "displayName"')}`);
    expect(byName.body).toMatchObject({ totalResults: 1, Resources: [{ id, displayName: "displayName" }] });
    expect((byName.body!.Resources as object[])[0]).not.toHaveProperty("members");

    expect(
      target.send("PATCH", `Groups/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "Replace", path: "displayName", value: "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName" }],
      }).status,
    ).toBe(204);
    expect(
      target.send("PATCH", `Groups/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "Add", path: "members", value: [{ $ref: null, value: member }] }],
      }).status,
    ).toBe(204);
    expect(target.send("GET", `Groups/${id}`).body).toMatchObject({
      displayName: "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName",
      members: [{ value: member }],
    });
    // Entra asks whether a member is there with a members filter.
    expect(
      target.send("GET", `Groups?filter=${q(`id eq "${id}" and members eq "${member}"`)}&excludedAttributes=members`).body,
    ).toMatchObject({ totalResults: 1 });
    expect(
      target.send("PATCH", `Groups/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "Remove", path: "members", value: [{ $ref: null, value: member }] }],
      }).status,
    ).toBe(204);
    expect(target.send("GET", `Groups/${id}`).body).toMatchObject({ members: [] });
    expect(target.send("DELETE", `Groups/${id}`).status).toBe(204);
  });
});

describe("Okta provisioning", () => {
  const oktaUser = {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName: "test.user@okta.local",
    name: { givenName: "Test", familyName: "User" },
    emails: [{ primary: true, value: "test.user@okta.local", type: "work" }],
    displayName: "Test User",
    locale: "en-US",
    externalId: "00ujl29u0le5T6Aj10h7",
    groups: [],
    password: "1mz050nq",
    active: true,
  };

  it("checks for the user, creates it, refuses a duplicate, lists and pages, updates it with PUT and deactivates it with PATCH", () => {
    // Test connection and the existence check.
    expect(target.send("GET", "Users?startIndex=1&count=2").body).toMatchObject({ totalResults: 0, itemsPerPage: 0 });
    expect(target.send("GET", "Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100").body).toMatchObject({
      totalResults: 0,
      Resources: [],
    });

    const created = target.send("POST", "Users", oktaUser);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      userName: "test.user@okta.local",
      locale: "en-US",
      externalId: "00ujl29u0le5T6Aj10h7",
      active: true,
    });
    expect(JSON.stringify(created.body)).not.toContain("1mz050nq");
    const id = created.body!.id as string;

    // "If the User object that Okta tries to create already exists ... respond with an error schema": 409 uniqueness.
    expect(target.send("POST", "Users", { ...oktaUser, userName: "TEST.USER@okta.local" })).toMatchObject({
      status: 409,
      body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "409", scimType: "uniqueness" },
    });

    for (let index = 0; index < 150; index += 1) target.send("POST", "Users", { userName: `bulk${index}@okta.local` });
    const first = target.send("GET", "Users?startIndex=1&count=100").body!;
    const second = target.send("GET", "Users?startIndex=101&count=100").body!;
    expect(first).toMatchObject({ totalResults: 151, startIndex: 1, itemsPerPage: 100 });
    expect(second).toMatchObject({ totalResults: 151, startIndex: 101, itemsPerPage: 51 });
    expect(typeof first.totalResults).toBe("number");

    // PUT on a profile update: Okta sends back what it read, with the change.
    const read = target.send("GET", `Users/${id}`).body!;
    const put = target.send("PUT", `Users/${id}`, {
      ...read,
      name: { givenName: "Another", middleName: "Excited", familyName: "User" },
      emails: [{ primary: true, value: "test.user@okta.local", type: "work", display: "test.user@okta.local" }],
      groups: [],
    });
    expect(put).toMatchObject({
      status: 200,
      body: { id, name: { givenName: "Another", middleName: "Excited", familyName: "User" }, active: true },
    });

    const deactivated = target.send("PATCH", `Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: "replace", value: { active: false } }],
    });
    expect(deactivated).toMatchObject({ status: 200, body: { id, active: false, userName: "test.user@okta.local" } });
  });

  it("pushes a group, renames it with its id in the value, changes and replaces its members", () => {
    const first = target.send("POST", "Users", oktaUser).body!.id as string;
    const second = target.send("POST", "Users", { userName: "second@okta.local" }).body!.id as string;
    const created = target.send("POST", "Groups", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
      displayName: "Test SCIMv2",
      members: [],
    });
    expect(created).toMatchObject({ status: 201, body: { displayName: "Test SCIMv2", members: [], meta: { resourceType: "Group" } } });
    const id = created.body!.id as string;

    expect(
      target.send("PATCH", `Groups/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "replace", value: { id, displayName: "Test SCIMv20" } }],
      }).status,
    ).toBe(204);
    expect(target.send("GET", `Groups/${id}`).body).toMatchObject({ displayName: "Test SCIMv20" });

    expect(
      target.send("PATCH", `Groups/${id}`, {
        schemas: [PATCH_OP],
        Operations: [
          { op: "remove", path: `members[value eq "${second}"]` },
          { op: "add", path: "members", value: [{ value: first, display: "test.user@okta.local" }] },
        ],
      }).status,
    ).toBe(204);
    expect(target.groups.get(id)!.members).toEqual([first]);

    expect(
      target.send("PATCH", `Groups/${id}`, {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        Operations: [
          {
            op: "replace",
            path: "members",
            value: [
              { value: first, display: "test.user@okta.local" },
              { value: second, display: "test.user@okta.local" },
            ],
          },
        ],
      }).status,
    ).toBe(204);
    expect(target.groups.get(id)!.members).toEqual([first, second]);
    expect(target.send("GET", "Groups?startIndex=1&count=100").body).toMatchObject({ totalResults: 1 });
    expect(target.send("DELETE", `Groups/${id}`).status).toBe(204);
  });

  it("answers an unknown filter attribute with invalidFilter, never an empty list", () => {
    expect(target.send("GET", `Users?filter=${q('login eq "test.user@okta.local"')}`)).toMatchObject({
      status: 400,
      body: { scimType: "invalidFilter", status: "400" },
    });
  });
});
