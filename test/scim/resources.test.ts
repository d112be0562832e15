// POST/PUT bodies, the wire form of resources, attributes/excludedAttributes, paging, the
// discovery documents and the error body.
import { describe, expect, it } from "vitest";
import {
  findResourceType,
  findSchemaDefinition,
  resourceTypeDocuments,
  schemaDocuments,
  serviceProviderConfig,
} from "../../src/scim/discovery.ts";
import { ScimError, scimErrorBody } from "../../src/scim/errors.ts";
import { listResponse, MAX_PAGE_SIZE, pageOf, parseListQuery } from "../../src/scim/list.ts";
import { parseProjection } from "../../src/scim/projection.ts";
import { groupResource, isActive, parseGroupBody, parseUserBody, userResource } from "../../src/scim/resources.ts";
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from "../../src/scim/schema.ts";

const BASE = "https://uniasset.example/scim/v2";
const meta = { id: "u-1", created: "2026-01-02T03:04:05.000Z", lastModified: "2026-01-02T03:04:05.000Z", location: `${BASE}/Users/u-1` };

function refusal(action: () => unknown): ScimError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    return error as ScimError;
  }
  throw new Error("expected a ScimError");
}

describe("User bodies", () => {
  it("keeps the supported attributes under canonical names, whatever case they came in", () => {
    const { user, ignored } = parseUserBody({
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      USERNAME: "bjensen@example.com",
      Name: { GivenName: "Barbara", familyname: "Jensen" },
      emails: [{ Value: "bjensen@example.com", TYPE: "work", primary: "True" }],
      [ENTERPRISE_USER_SCHEMA.toUpperCase()]: {
        EmployeeNumber: "701984",
        Manager: { Value: "m-1", displayName: "Computed by the server" },
      },
      id: "sent-by-the-client",
      meta: { resourceType: "User" },
    });
    expect(user).toEqual({
      userName: "bjensen@example.com",
      name: { givenName: "Barbara", familyName: "Jensen" },
      emails: [{ value: "bjensen@example.com", type: "work", primary: true }],
      [ENTERPRISE_USER_SCHEMA]: { employeeNumber: "701984", manager: { value: "m-1" } },
    });
    expect(ignored).toEqual(["id", "meta"]);
  });

  it("takes active as a boolean or as Entra's string booleans", () => {
    expect(parseUserBody({ userName: "a", active: false }).user.active).toBe(false);
    expect(parseUserBody({ userName: "a", active: "False" }).user.active).toBe(false);
    expect(parseUserBody({ userName: "a", active: "TRUE" }).user.active).toBe(true);
    expect(refusal(() => parseUserBody({ userName: "a", active: "no" })).scimType).toBe("invalidValue");
    expect(isActive(parseUserBody({ userName: "a" }).user)).toBe(true);
  });

  it("reads null as unassigned and the bare-value and one-element-array forms of a complex value", () => {
    const { user } = parseUserBody({
      userName: "a",
      addresses: null,
      title: null,
      [ENTERPRISE_USER_SCHEMA]: { manager: "123456" },
    });
    expect(user).toEqual({ userName: "a", [ENTERPRISE_USER_SCHEMA]: { manager: { value: "123456" } } });
    expect(parseUserBody({ userName: "a", manager: [{ value: "m-2", $ref: null }] }).user[ENTERPRISE_USER_SCHEMA]).toEqual({
      manager: { value: "m-2" },
    });
  });

  it("requires userName, and validates types and sizes", () => {
    expect(refusal(() => parseUserBody({ name: { givenName: "x" } })).detail).toContain("userName");
    expect(refusal(() => parseUserBody({ userName: "   " })).detail).toContain("must not be empty");
    expect(refusal(() => parseUserBody({ userName: 42 })).detail).toContain("must be a string");
    expect(refusal(() => parseUserBody({ userName: "a", emails: [true] })).scimType).toBe("invalidValue");
    // A bare address is read as the value it is.
    expect(parseUserBody({ userName: "a", emails: "a@x" }).user.emails).toEqual([{ value: "a@x" }]);
    expect(refusal(() => parseUserBody({ userName: "a".repeat(257) })).detail).toContain("at most 256");
    expect(
      refusal(() => parseUserBody({ userName: "a", emails: Array.from({ length: 21 }, (_, index) => ({ value: `${index}@x` })) })).detail,
    ).toContain("at most 20");
    expect(refusal(() => parseUserBody([])).scimType).toBe("invalidSyntax");
    expect(refusal(() => parseUserBody({ userName: "a", schemas: "urn" })).scimType).toBe("invalidSyntax");
  });

  it("ignores, and lists, what UniAsset does not keep (Okta's password and groups, unknown extensions)", () => {
    const { user, ignored } = parseUserBody({
      userName: "a",
      password: "1mz050nq",
      groups: [],
      favouriteColour: "blue",
      "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": { tag: "701984" },
    });
    expect(user).toEqual({ userName: "a" });
    expect(ignored).toEqual([
      "password",
      "groups",
      "favouriteColour",
      "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User",
    ]);
  });

  it("is written out with schemas, id and meta", () => {
    const { user } = parseUserBody({ userName: "a", [ENTERPRISE_USER_SCHEMA]: { department: "Sales" } });
    expect(userResource(user, meta)).toEqual({
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      id: "u-1",
      userName: "a",
      [ENTERPRISE_USER_SCHEMA]: { department: "Sales" },
      meta: { resourceType: "User", created: meta.created, lastModified: meta.lastModified, location: meta.location },
    });
    expect(userResource(parseUserBody({ userName: "b" }).user, meta).schemas).toEqual([USER_SCHEMA]);
  });
});

describe("Group bodies", () => {
  it("keeps displayName and externalId, and lists member ids apart", () => {
    const parsed = parseGroupBody({
      schemas: [GROUP_SCHEMA],
      displayName: "Tour Guides",
      externalId: "e-1",
      members: [{ value: "u-1", display: "Babs" }, { value: "u-2" }, { value: "u-1" }],
    });
    expect(parsed).toEqual({ group: { displayName: "Tour Guides", externalId: "e-1" }, members: ["u-1", "u-2"], ignored: [] });
    expect(refusal(() => parseGroupBody({ members: [] })).detail).toContain("displayName");
  });

  it("is written out with or without members", () => {
    const groupMeta = { ...meta, id: "g-1", location: `${BASE}/Groups/g-1` };
    expect(groupResource({ displayName: "G" }, groupMeta)).not.toHaveProperty("members");
    expect(groupResource({ displayName: "G" }, groupMeta, [{ value: "u-1", display: "Babs", $ref: `${BASE}/Users/u-1` }])).toMatchObject({
      schemas: [GROUP_SCHEMA],
      id: "g-1",
      displayName: "G",
      members: [{ value: "u-1", display: "Babs", $ref: `${BASE}/Users/u-1` }],
      meta: { resourceType: "Group" },
    });
  });
});

describe("attributes and excludedAttributes", () => {
  const full = userResource(
    parseUserBody({
      userName: "bjensen",
      name: { givenName: "Barbara", familyName: "Jensen" },
      displayName: "Babs",
      emails: [
        { value: "b@example.com", type: "work" },
        { value: "b@home.example", type: "home" },
      ],
      [ENTERPRISE_USER_SCHEMA]: { department: "Tours", costCenter: "4130" },
    }).user,
    meta,
  );

  it("returns only the requested attributes, plus id and schemas", () => {
    expect(parseProjection({ attributes: "userName,name.givenName,emails.value" }, "User").apply(full)).toEqual({
      schemas: [USER_SCHEMA],
      id: "u-1",
      userName: "bjensen",
      name: { givenName: "Barbara" },
      emails: [{ value: "b@example.com" }, { value: "b@home.example" }],
    });
    expect(parseProjection({ attributes: `${ENTERPRISE_USER_SCHEMA}:department, DISPLAYNAME` }, "User").apply(full)).toEqual({
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      id: "u-1",
      [ENTERPRISE_USER_SCHEMA]: { department: "Tours" },
      displayName: "Babs",
    });
  });

  it("drops the excluded attributes, never id", () => {
    const projected = parseProjection({ excludedAttributes: `emails,name.familyName,id,${ENTERPRISE_USER_SCHEMA}` }, "User").apply(full);
    expect(projected).toEqual({
      schemas: [USER_SCHEMA],
      id: "u-1",
      userName: "bjensen",
      name: { givenName: "Barbara" },
      displayName: "Babs",
      meta: full.meta,
    });
  });

  it("tells the caller whether to read members at all (Entra's excludedAttributes=members)", () => {
    expect(parseProjection({ excludedAttributes: "members" }, "Group").includes("members")).toBe(false);
    expect(parseProjection({}, "Group").includes("members")).toBe(true);
    expect(parseProjection({ attributes: "displayName" }, "Group").includes("members")).toBe(false);
    expect(parseProjection({ attributes: "members.value" }, "Group").includes("members")).toBe(true);
  });

  it("leaves unknown attribute names out of the selection", () => {
    expect(parseProjection({ attributes: "nosuch" }, "User").apply(full)).toEqual({ schemas: [USER_SCHEMA], id: "u-1" });
  });
});

describe("list queries and ListResponse (RFC 7644 §3.4.2.4)", () => {
  const query = (text: string) => parseListQuery(new URLSearchParams(text), "User");

  it("defaults to the first page of MAX_PAGE_SIZE", () => {
    expect(query("")).toMatchObject({ startIndex: 1, count: MAX_PAGE_SIZE });
    expect(query("").filter).toBeUndefined();
    expect(MAX_PAGE_SIZE).toBe(100);
  });

  it("reads startIndex below 1 as 1, a negative count as 0, and caps count", () => {
    expect(query("startIndex=0&count=-5")).toMatchObject({ startIndex: 1, count: 0 });
    expect(query("startIndex=101&count=500")).toMatchObject({ startIndex: 101, count: 100 });
    expect(refusal(() => query("count=ten")).scimType).toBe("invalidValue");
    expect(refusal(() => query("startIndex=1.5")).scimType).toBe("invalidValue");
  });

  it("parses the filter, Okta's form included, and refuses a bad one", () => {
    expect(query("filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100").filter).toMatchObject({
      op: "eq",
      value: "test.user@okta.local",
    });
    expect(refusal(() => query("filter=nosuch%20pr")).scimType).toBe("invalidFilter");
  });

  it("pages a list with totalResults counting every match", () => {
    const all = Array.from({ length: 250 }, (_, index) => index + 1);
    const second = pageOf(all, { startIndex: 101, count: 100 });
    expect(second).toMatchObject({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
      totalResults: 250,
      startIndex: 101,
      itemsPerPage: 100,
    });
    expect(second.Resources[0]).toBe(101);
    expect(pageOf(all, { startIndex: 201, count: 100 }).itemsPerPage).toBe(50);
    expect(pageOf(all, { startIndex: 1, count: 0 })).toMatchObject({ totalResults: 250, itemsPerPage: 0, Resources: [] });
    // Entra's "Test Connection": a user that does not exist gets an empty ListResponse.
    expect(listResponse([], { totalResults: 0, startIndex: 1 })).toEqual({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
  });
});

describe("discovery documents", () => {
  it("state what is supported: patch and filter yes, bulk, sort, etag and changePassword no, a bearer token", () => {
    const config = serviceProviderConfig(BASE);
    expect(config).toMatchObject({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: true, maxResults: MAX_PAGE_SIZE },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: false },
      meta: { resourceType: "ServiceProviderConfig", location: `${BASE}/ServiceProviderConfig` },
    });
    expect(config.authenticationSchemes).toEqual([expect.objectContaining({ type: "oauthbearertoken", primary: true })]);
  });

  it("list the User and Group resource types with the enterprise extension", () => {
    const [user, group] = resourceTypeDocuments(BASE);
    expect(user).toMatchObject({
      id: "User",
      endpoint: "/Users",
      schema: USER_SCHEMA,
      schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
      meta: { location: `${BASE}/ResourceTypes/User` },
    });
    expect(group).toMatchObject({ id: "Group", endpoint: "/Groups", schema: GROUP_SCHEMA });
    expect(group).not.toHaveProperty("schemaExtensions");
    expect(findResourceType("Group")).toBe("Group");
    expect(findResourceType("Device")).toBeUndefined();
  });

  it("describe exactly the attributes the code accepts, with no null characteristics", () => {
    const documents = schemaDocuments(BASE);
    expect(documents.map((document) => document.id)).toEqual([USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]);
    const enterprise = documents[1]!;
    expect(enterprise.attributes.map((attribute) => attribute.name)).toEqual([
      "employeeNumber",
      "costCenter",
      "organization",
      "division",
      "department",
      "manager",
    ]);
    const userName = documents[0]!.attributes.find((attribute) => attribute.name === "userName");
    expect(userName).toMatchObject({ type: "string", required: true, caseExact: false, uniqueness: "server", mutability: "readWrite" });
    expect(JSON.stringify(documents)).not.toContain("null");
    // Every documented attribute is one a body may carry: parse a body naming each of them.
    for (const attribute of documents[0]!.attributes.filter(
      (candidate) => candidate.mutability !== "readOnly" && candidate.type !== "complex",
    )) {
      const value = attribute.type === "boolean" ? true : "x";
      const { user, ignored } = parseUserBody({ userName: "u", [attribute.name as string]: value });
      expect(ignored, attribute.name as string).toEqual([]);
      expect(user, attribute.name as string).toHaveProperty(attribute.name as string);
    }
    expect(findSchemaDefinition(GROUP_SCHEMA)?.name).toBe("Group");
    expect(findSchemaDefinition("urn:nope")).toBeUndefined();
  });
});

describe("error bodies (RFC 7644 §3.12)", () => {
  it("carry the Error schema, the status as a string, the scimType and the detail", () => {
    expect(scimErrorBody(ScimError.uniqueness('A User with userName "bjensen" already exists.'))).toEqual({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
      status: "409",
      scimType: "uniqueness",
      detail: 'A User with userName "bjensen" already exists.',
    });
    expect(ScimError.tooMany("x").status).toBe(400);
    expect(ScimError.notFound("Resource u-9 not found.").toBody()).toEqual({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
      status: "404",
      detail: "Resource u-9 not found.",
    });
    expect(ScimError.status(429, "Slow down.").toBody()).not.toHaveProperty("scimType");
  });
});
