// PATCH of a User (RFC 7644 §3.5.2): add, replace and remove, with and without path, value
// filters and sub-attributes, the RFC's own examples, and what each refusal is.
import { describe, expect, it } from "vitest";
import { ScimError } from "../../src/scim/errors.ts";
import { applyUserPatch } from "../../src/scim/patch.ts";
import { parseUserBody, type ScimUser } from "../../src/scim/resources.ts";
import { ENTERPRISE_USER_SCHEMA } from "../../src/scim/schema.ts";

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

const babs: ScimUser = parseUserBody({
  schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
  userName: "bjensen@example.com",
  externalId: "701984",
  name: { familyName: "Jensen", givenName: "Barbara" },
  displayName: "Babs Jensen",
  active: true,
  emails: [
    { value: "bjensen@example.com", type: "work", primary: true },
    { value: "babs@jensen.org", type: "home" },
  ],
  addresses: [
    {
      type: "work",
      streetAddress: "100 Universal City Plaza",
      locality: "Hollywood",
      region: "CA",
      postalCode: "91608",
      country: "USA",
      primary: true,
    },
  ],
}).user;

function refusal(action: () => unknown): ScimError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    return error as ScimError;
  }
  throw new Error("expected a ScimError");
}

describe("add", () => {
  it("without a path merges the value's attributes, as RFC 7644 §3.5.2.1's example (note its lower-case `nickname`)", () => {
    const result = applyUserPatch(
      babs,
      patch({
        op: "add",
        value: {
          emails: [
            { value: "babs@jensen.org", type: "home" },
            { value: "b@other.example", type: "other" },
          ],
          nickname: "Babs",
        },
      }),
    );
    expect(result.user.nickName).toBe("Babs");
    // The home address was already there: add does not duplicate it.
    expect(result.user.emails?.map((email) => email.value)).toEqual(["bjensen@example.com", "babs@jensen.org", "b@other.example"]);
    expect(result.changed).toEqual(["nickName", "emails"]);
  });

  it("with a path sets a single value, merges a complex one and appends to a multi-valued one", () => {
    expect(applyUserPatch(babs, patch({ op: "add", path: "title", value: "Tour Guide" })).user.title).toBe("Tour Guide");
    expect(applyUserPatch(babs, patch({ op: "add", path: "name", value: { middleName: "Jane" } })).user.name).toEqual({
      familyName: "Jensen",
      givenName: "Barbara",
      middleName: "Jane",
    });
    const phones = applyUserPatch(babs, patch({ op: "add", path: "phoneNumbers", value: [{ value: "555-555-5555", type: "work" }] }));
    expect(phones.user.phoneNumbers).toEqual([{ value: "555-555-5555", type: "work" }]);
    expect(phones.changed).toEqual(["phoneNumbers"]);
  });

  it("demotes the old primary when a new primary value is added", () => {
    const result = applyUserPatch(
      babs,
      patch({ op: "add", path: "emails", value: [{ value: "new@example.com", type: "work", primary: true }] }),
    );
    expect(result.user.emails?.filter((email) => email.primary === true).map((email) => email.value)).toEqual(["new@example.com"]);
  });

  it("adds enterprise attributes by qualified path and by the extension as a whole", () => {
    const qualified = applyUserPatch(babs, patch({ op: "add", path: `${ENTERPRISE_USER_SCHEMA}:department`, value: "Tour Operations" }));
    expect(qualified.user[ENTERPRISE_USER_SCHEMA]).toEqual({ department: "Tour Operations" });
    expect(qualified.changed).toEqual([`${ENTERPRISE_USER_SCHEMA}:department`]);
    const whole = applyUserPatch(
      qualified.user,
      patch({ op: "add", path: ENTERPRISE_USER_SCHEMA, value: { costCenter: "4130", manager: { value: "m-1" } } }),
    );
    expect(whole.user[ENTERPRISE_USER_SCHEMA]).toEqual({ department: "Tour Operations", costCenter: "4130", manager: { value: "m-1" } });
  });
});

describe("replace", () => {
  it("without a path replaces the value's attributes, as RFC 7644 §3.5.2.3's example", () => {
    const result = applyUserPatch(
      babs,
      patch({
        op: "replace",
        value: {
          emails: [
            { value: "bjensen@example.com", type: "work", primary: true },
            { value: "babs@jensen.org", type: "home" },
          ],
          nickname: "Babs",
        },
      }),
    );
    expect(result.user.nickName).toBe("Babs");
    expect(result.changed).toEqual(["nickName"]);
  });

  it("with a path replaces a whole multi-valued attribute and merges a complex one", () => {
    const emails = applyUserPatch(babs, patch({ op: "replace", path: "emails", value: [{ value: "only@example.com", type: "work" }] }));
    expect(emails.user.emails).toEqual([{ value: "only@example.com", type: "work" }]);
    const name = applyUserPatch(babs, patch({ op: "replace", path: "name", value: { givenName: "Babs" } }));
    expect(name.user.name).toEqual({ familyName: "Jensen", givenName: "Babs" });
    expect(name.changed).toEqual(["name.givenName"]);
  });

  it('replaces the elements a value filter selects, as RFC 7644\'s addresses[type eq "work"] example', () => {
    const result = applyUserPatch(
      babs,
      patch({
        op: "replace",
        path: 'addresses[type eq "work"]',
        value: {
          type: "work",
          streetAddress: "911 Universal City Plaza",
          locality: "Hollywood",
          region: "CA",
          postalCode: "91608",
          country: "US",
          formatted: "911 Universal City Plaza\nHollywood, CA 91608 US",
          primary: true,
        },
      }),
    );
    expect(result.user.addresses).toEqual([
      {
        type: "work",
        streetAddress: "911 Universal City Plaza",
        locality: "Hollywood",
        region: "CA",
        postalCode: "91608",
        country: "US",
        formatted: "911 Universal City Plaza\nHollywood, CA 91608 US",
        primary: true,
      },
    ]);
  });

  it('replaces a sub-attribute of the selected elements, as RFC 7644\'s addresses[type eq "work"].streetAddress example', () => {
    const result = applyUserPatch(
      babs,
      patch({ op: "replace", path: 'addresses[type eq "work"].streetAddress', value: "1010 Broadway Ave" }),
    );
    expect(result.user.addresses?.[0]).toMatchObject({ streetAddress: "1010 Broadway Ave", locality: "Hollywood" });
    expect(result.changed).toEqual(["addresses"]);
  });

  it("creates the element when the filter only names its type and nothing matches; otherwise it is noTarget", () => {
    const created = applyUserPatch(babs, patch({ op: "replace", path: 'phoneNumbers[type eq "mobile"].value', value: "555-0100" }));
    expect(created.user.phoneNumbers).toEqual([{ type: "mobile", value: "555-0100" }]);
    const error = refusal(() => applyUserPatch(babs, patch({ op: "replace", path: 'emails[value co "nobody"].type', value: "other" })));
    expect(error.scimType).toBe("noTarget");
    expect(error.status).toBe(400);
  });

  it("reads path-shaped keys of a path-less value, value filters included", () => {
    const result = applyUserPatch(
      babs,
      patch({
        op: "replace",
        value: {
          'emails[type eq "work"].value': "new@example.com",
          "name.givenName": "Babs",
          [`${ENTERPRISE_USER_SCHEMA}:department`]: "Tours",
        },
      }),
    );
    expect(result.user.emails?.[0]).toEqual({ value: "new@example.com", type: "work", primary: true });
    expect(result.changed).toEqual(["name.givenName", "emails", `${ENTERPRISE_USER_SCHEMA}:department`]);
  });

  it("takes Entra's string booleans and capitalised op names", () => {
    const result = applyUserPatch(babs, patch({ op: "Replace", path: "active", value: "False" }));
    expect(result.user.active).toBe(false);
    expect(result.changed).toEqual(["active"]);
    expect(applyUserPatch(result.user, patch({ op: "REPLACE", path: "ACTIVE", value: "true" })).user.active).toBe(true);
  });

  it("reports nothing changed when the value is the same", () => {
    expect(applyUserPatch(babs, patch({ op: "replace", path: "displayName", value: "Babs Jensen" })).changed).toEqual([]);
  });
});

describe("remove", () => {
  it("unassigns a single attribute, a sub-attribute and a whole multi-valued attribute", () => {
    expect(applyUserPatch(babs, patch({ op: "remove", path: "displayName" })).user.displayName).toBeUndefined();
    expect(applyUserPatch(babs, patch({ op: "remove", path: "name.givenName" })).user.name).toEqual({ familyName: "Jensen" });
    const emails = applyUserPatch(babs, patch({ op: "remove", path: "emails" }));
    expect(emails.user.emails).toBeUndefined();
    expect(emails.changed).toEqual(["emails"]);
  });

  it("removes the elements a value filter selects, and unassigns the attribute when none are left", () => {
    const work = applyUserPatch(babs, patch({ op: "remove", path: 'emails[type eq "work" and value ew "example.com"]' }));
    expect(work.user.emails).toEqual([{ value: "babs@jensen.org", type: "home" }]);
    const both = applyUserPatch(work.user, patch({ op: "remove", path: 'emails[type eq "home"]' }));
    expect(both.user.emails).toBeUndefined();
  });

  it("removes a sub-attribute of the selected elements only", () => {
    const result = applyUserPatch(babs, patch({ op: "remove", path: 'emails[type eq "work"].primary' }));
    expect(result.user.emails).toEqual([
      { value: "bjensen@example.com", type: "work" },
      { value: "babs@jensen.org", type: "home" },
    ]);
  });

  it("treats removing what is not there as done", () => {
    expect(applyUserPatch(babs, patch({ op: "remove", path: 'emails[type eq "other"]' })).changed).toEqual([]);
    expect(applyUserPatch(babs, patch({ op: "remove", path: `${ENTERPRISE_USER_SCHEMA}:department` })).changed).toEqual([]);
  });

  it("removes listed values (Entra's remove with a value)", () => {
    const result = applyUserPatch(babs, patch({ op: "Remove", path: "emails", value: [{ value: "BABS@jensen.org" }] }));
    expect(result.user.emails?.map((email) => email.value)).toEqual(["bjensen@example.com"]);
  });

  it("refuses a remove without a path (noTarget) and a required attribute's removal (invalidValue)", () => {
    expect(refusal(() => applyUserPatch(babs, patch({ op: "remove" }))).scimType).toBe("noTarget");
    expect(refusal(() => applyUserPatch(babs, patch({ op: "remove", path: "userName" }))).scimType).toBe("invalidValue");
  });
});

describe("refusals", () => {
  it("checks the PatchOp message", () => {
    expect(refusal(() => applyUserPatch(babs, { Operations: [{ op: "add", path: "title", value: "x" }] })).scimType).toBe("invalidSyntax");
    expect(refusal(() => applyUserPatch(babs, patch())).scimType).toBe("invalidSyntax");
    expect(refusal(() => applyUserPatch(babs, patch({ op: "move", path: "title" }))).scimType).toBe("invalidSyntax");
    expect(refusal(() => applyUserPatch(babs, patch({ op: "add", path: "title" }))).scimType).toBe("invalidSyntax");
    expect(refusal(() => applyUserPatch(babs, "not json")).scimType).toBe("invalidSyntax");
    // The Operations key is matched in any case, as other structural names are.
    expect(applyUserPatch(babs, { schemas: [PATCH_OP], operations: [{ op: "add", path: "title", value: "x" }] }).user.title).toBe("x");
  });

  it("refuses unknown paths with invalidPath, read-only ones with mutability, and wrong types with invalidValue", () => {
    expect(refusal(() => applyUserPatch(babs, patch({ op: "replace", path: "favouriteColour", value: "blue" }))).scimType).toBe(
      "invalidPath",
    );
    expect(refusal(() => applyUserPatch(babs, patch({ op: "replace", value: { favouriteColour: "blue" } }))).scimType).toBe("invalidPath");
    expect(refusal(() => applyUserPatch(babs, patch({ op: "replace", path: 'title[type eq "x"]', value: "x" }))).scimType).toBe(
      "invalidPath",
    );
    expect(refusal(() => applyUserPatch(babs, patch({ op: "replace", path: "emails[type eq]", value: "x" }))).scimType).toBe(
      "invalidFilter",
    );
    expect(refusal(() => applyUserPatch(babs, patch({ op: "replace", path: "id", value: "other" }))).scimType).toBe("mutability");
    expect(
      refusal(() => applyUserPatch(babs, patch({ op: "replace", path: "meta.created", value: "2020-01-01T00:00:00Z" }))).scimType,
    ).toBe("mutability");
    expect(refusal(() => applyUserPatch(babs, patch({ op: "replace", path: "active", value: "maybe" }))).scimType).toBe("invalidValue");
    expect(refusal(() => applyUserPatch(babs, patch({ op: "replace", path: "userName", value: "" }))).scimType).toBe("invalidValue");
    expect(
      refusal(() =>
        applyUserPatch(
          babs,
          patch({
            op: "add",
            path: "emails",
            value: [
              { value: "a@x", primary: true },
              { value: "b@x", primary: true },
            ],
          }),
        ),
      ).detail,
    ).toContain("only one value as primary");
  });

  it("ignores, and reports, attributes UniAsset does not keep", () => {
    const result = applyUserPatch(
      babs,
      patch({ op: "replace", value: { password: "t1meMa$heen", active: false } }, { op: "replace", path: "password", value: "x" }),
    );
    expect(result.user.active).toBe(false);
    expect(result.ignored).toEqual(["password", "password"]);
    expect(JSON.stringify(result.user)).not.toContain("t1meMa$heen");
  });

  it("does not modify the resource it was given", () => {
    const before = JSON.stringify(babs);
    applyUserPatch(
      babs,
      patch({ op: "replace", path: 'emails[type eq "work"].value', value: "x@example.com" }, { op: "remove", path: "name" }),
    );
    expect(JSON.stringify(babs)).toBe(before);
  });
});
