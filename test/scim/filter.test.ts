// The filter grammar (RFC 7644 §3.4.2.2): every operator, precedence, grouping, not, value paths,
// schema-qualified names, case-insensitivity, literals, and the errors. RFC examples are quoted
// as the RFC writes them.
import { describe, expect, it } from "vitest";
import { ScimError } from "../../src/scim/errors.ts";
import { parseFilter, type LogicalFilter } from "../../src/scim/filter.ts";
import { matchesFilter } from "../../src/scim/filterEvaluate.ts";
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from "../../src/scim/schema.ts";

const core = (attribute: string, subAttribute?: string) => ({ schema: USER_SCHEMA, attribute, ...(subAttribute ? { subAttribute } : {}) });

/** RFC 7643 §8.2's Babs Jensen, cut to the attributes UniAsset keeps. */
const babs = {
  schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
  id: "2819c223-7f76-453a-919d-413861904646",
  externalId: "701984",
  userName: "bjensen@example.com",
  name: { formatted: "Ms. Barbara J Jensen, III", familyName: "Jensen", givenName: "Barbara", middleName: "Jane" },
  displayName: "Babs Jensen",
  nickName: "Babs",
  title: "Tour Guide",
  userType: "Employee",
  active: true,
  emails: [
    { value: "bjensen@example.com", type: "work", primary: true },
    { value: "babs@jensen.org", type: "home" },
  ],
  phoneNumbers: [{ value: "555-555-5555", type: "work" }],
  [ENTERPRISE_USER_SCHEMA]: {
    employeeNumber: "701984",
    costCenter: "4130",
    department: "Tour Operations",
    manager: { value: "26118915-6090-4610-87e4-49d8ca9f808d" },
  },
  meta: { resourceType: "User", created: "2010-01-23T04:56:22Z", lastModified: "2011-05-13T04:42:34Z" },
};

const matches = (filter: string, resource: Record<string, unknown> = babs) =>
  matchesFilter(parseFilter(filter, "User"), resource, USER_SCHEMA);

function refusal(action: () => unknown): ScimError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    return error as ScimError;
  }
  throw new Error("expected a ScimError");
}

describe("parsing to an AST", () => {
  it("reads a comparison with the attribute resolved to its schema, type and case rule", () => {
    expect(parseFilter('userName eq "bjensen"', "User")).toEqual({
      op: "eq",
      attribute: core("userName"),
      type: "string",
      caseExact: false,
      value: "bjensen",
    });
  });

  it("reads every comparison operator and pr", () => {
    for (const op of ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]) {
      expect(parseFilter(`title ${op} "x"`, "User")).toMatchObject({ op, attribute: core("title"), value: "x" });
    }
    expect(parseFilter("title pr", "User")).toEqual({ op: "pr", attribute: core("title") });
  });

  it("takes operators, keywords and attribute names in any case, and answers with canonical names", () => {
    expect(parseFilter('USERNAME Eq "a" AND Name.GIVENNAME sW "B" oR NOT (Active EQ TRUE)', "User")).toEqual({
      op: "or",
      filters: [
        {
          op: "and",
          filters: [
            { op: "eq", attribute: core("userName"), type: "string", caseExact: false, value: "a" },
            { op: "sw", attribute: core("name", "givenName"), type: "string", caseExact: false, value: "B" },
          ],
        },
        { op: "not", filter: { op: "eq", attribute: core("active"), type: "boolean", caseExact: false, value: true } },
      ],
    });
  });

  it("binds and tighter than or, and lets parentheses override it", () => {
    const loose = parseFilter('title pr or userType eq "A" and userType eq "B"', "User") as LogicalFilter;
    expect(loose.op).toBe("or");
    expect(loose.filters[1]).toMatchObject({ op: "and" });
    const grouped = parseFilter('(title pr or userType eq "A") and userType eq "B"', "User") as LogicalFilter;
    expect(grouped.op).toBe("and");
    expect(grouped.filters[0]).toMatchObject({ op: "or" });
    // A chain of the same operator is one node.
    expect((parseFilter("title pr and nickName pr and displayName pr", "User") as LogicalFilter).filters).toHaveLength(3);
  });

  it("reads string, number, boolean and null literals, with JSON escapes", () => {
    expect(parseFilter('displayName eq "Babs \\"B\\" Jensen \\u00e9"', "User")).toMatchObject({ value: 'Babs "B" Jensen é' });
    expect(parseFilter("active eq false", "User")).toMatchObject({ value: false });
    expect(parseFilter("active eq null", "User")).toMatchObject({ value: null });
    expect(parseFilter('name.familyName co "O\'Malley"', "User")).toMatchObject({ value: "O'Malley" });
  });

  it("resolves schema-qualified names, core and extension", () => {
    expect(parseFilter('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"', "User")).toMatchObject({
      attribute: core("userName"),
    });
    expect(parseFilter('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Tour Operations"', "User")).toMatchObject(
      {
        attribute: { schema: ENTERPRISE_USER_SCHEMA, attribute: "department" },
      },
    );
    expect(parseFilter('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"', "User")).toMatchObject({
      attribute: { schema: ENTERPRISE_USER_SCHEMA, attribute: "manager", subAttribute: "value" },
    });
    // Unqualified extension attributes resolve too: Entra names them so.
    expect(parseFilter('department eq "x"', "User")).toMatchObject({
      attribute: { schema: ENTERPRISE_USER_SCHEMA, attribute: "department" },
    });
  });

  it("reads value paths, nested logic inside them, and Entra's value path with a sub-attribute", () => {
    expect(parseFilter('emails[type eq "work" and value co "@example.com"]', "User")).toEqual({
      op: "valuePath",
      attribute: core("emails"),
      filter: {
        op: "and",
        filters: [
          { op: "eq", attribute: core("emails", "type"), type: "string", caseExact: false, value: "work" },
          { op: "co", attribute: core("emails", "value"), type: "string", caseExact: false, value: "@example.com" },
        ],
      },
    });
    expect(parseFilter('emails[type eq "work"].value eq "user@contoso.com"', "User")).toEqual({
      op: "valuePath",
      attribute: core("emails"),
      filter: {
        op: "and",
        filters: [
          { op: "eq", attribute: core("emails", "type"), type: "string", caseExact: false, value: "work" },
          { op: "eq", attribute: core("emails", "value"), type: "string", caseExact: false, value: "user@contoso.com" },
        ],
      },
    });
    expect(parseFilter('members[value eq "2819c223"]', "Group")).toMatchObject({
      op: "valuePath",
      attribute: { schema: GROUP_SCHEMA, attribute: "members" },
      filter: { op: "eq", attribute: { schema: GROUP_SCHEMA, attribute: "members", subAttribute: "value" }, caseExact: true },
    });
  });

  it("compares a complex attribute through its value sub-attribute, as RFC 7644's `emails co` example means", () => {
    expect(parseFilter('emails co "example.com"', "User")).toMatchObject({ attribute: core("emails", "value") });
  });

  it("reads Entra's unquoted value in `externalId eq jyoung` as a string", () => {
    expect(parseFilter("externalId eq jyoung", "User")).toMatchObject({ attribute: core("externalId"), caseExact: true, value: "jyoung" });
  });

  it("parses every example filter of RFC 7644 §3.4.2.2 that uses attributes UniAsset keeps", () => {
    const examples = [
      'userName eq "bjensen"',
      'name.familyName co "O\'Malley"',
      'userName sw "J"',
      'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
      "title pr",
      'meta.lastModified gt "2011-05-13T04:42:34Z"',
      'meta.lastModified ge "2011-05-13T04:42:34Z"',
      'meta.lastModified lt "2011-05-13T04:42:34Z"',
      'meta.lastModified le "2011-05-13T04:42:34Z"',
      'title pr and userType eq "Employee"',
      'title pr or userType eq "Intern"',
      'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
      'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
      'userType eq "Employee" and (emails.type eq "work")',
      'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
    ];
    for (const example of examples) expect(() => parseFilter(example, "User"), example).not.toThrow();
  });
});

describe("errors", () => {
  it("refuses an unknown attribute with invalidFilter instead of matching nothing", () => {
    for (const filter of ['nosuch eq "x"', 'name.nosuch eq "x"', 'emails[nosuch eq "x"]', 'urn:example:unknown:2.0:User:userName eq "x"']) {
      const error = refusal(() => parseFilter(filter, "User"));
      expect(error.scimType, filter).toBe("invalidFilter");
      expect(error.status).toBe(400);
    }
    // RFC 7644's own `ims[...]` and `schemas eq` examples name attributes UniAsset does not keep.
    expect(
      refusal(() =>
        parseFilter('emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]', "User"),
      ).detail,
    ).toContain('"ims"');
    expect(refusal(() => parseFilter('members[value eq "x"]', "User")).detail).toContain("not an attribute of User resources");
  });

  it("refuses malformed filters with a message that says where", () => {
    const cases: Array<[string, string]> = [
      ["userName eq", "where a value should be"],
      ['userName "bjensen"', "where an operator"],
      ['userName xx "bjensen"', "where an operator"],
      ['(userName eq "a"', 'where ")" should be'],
      ['userName eq "a")', "where it should end"],
      ['userName eq "a" and', "where an attribute"],
      ['userName eq "a" "b"', "where it should end"],
      ['emails[type eq "work"', 'where "]" should be'],
      ['userName eq "unterminated', "unterminated string"],
      ['userName eq "bad \\q escape"', "invalid escape"],
      ["userName eq 'single'", "unexpected character"],
      ["", "where an attribute"],
    ];
    for (const [filter, message] of cases) {
      const error = refusal(() => parseFilter(filter, "User"));
      expect(error.scimType, filter).toBe("invalidFilter");
      expect(error.detail, filter).toContain(message);
    }
  });

  it("refuses comparisons the attribute's type does not allow", () => {
    const cases = [
      "active gt true",
      'active eq "maybe"',
      "userName eq 42",
      'meta.lastModified co "2011"',
      'meta.lastModified gt "yesterday"',
      'name eq "Babs"',
      'title[type eq "x"]',
      "title lt null",
      'meta.location gt "x"',
    ];
    for (const filter of cases) expect(refusal(() => parseFilter(filter, "User")).scimType, filter).toBe("invalidFilter");
  });

  it("limits the size of a filter", () => {
    const many = Array.from({ length: 51 }, (_, index) => `userName eq "u${index}"`).join(" or ");
    expect(refusal(() => parseFilter(many, "User")).detail).toContain("more than 50 comparisons");
    const deep = `${"(".repeat(11)}title pr${")".repeat(11)}`;
    expect(refusal(() => parseFilter(deep, "User")).detail).toContain("nests more than");
    expect(refusal(() => parseFilter(`userName eq "${"x".repeat(2_000)}"`, "User")).detail).toContain("longer than");
  });
});

describe("evaluating against a resource", () => {
  it("compares strings case-insensitively unless the attribute is caseExact", () => {
    expect(matches('userName eq "BJENSEN@example.com"')).toBe(true);
    expect(matches('externalId eq "701984"')).toBe(true);
    expect(matches('id eq "2819C223-7F76-453A-919D-413861904646"')).toBe(false);
  });

  it("implements each operator", () => {
    expect(matches('userName ne "someone"')).toBe(true);
    expect(matches('name.familyName co "ens"')).toBe(true);
    expect(matches('userName sw "bj"')).toBe(true);
    expect(matches('userName ew "@EXAMPLE.COM"')).toBe(true);
    expect(matches('userName gt "a"')).toBe(true);
    expect(matches('userName lt "a"')).toBe(false);
    expect(matches('meta.lastModified gt "2011-05-13T04:42:33Z"')).toBe(true);
    expect(matches('meta.lastModified ge "2011-05-13T04:42:34Z"')).toBe(true);
    expect(matches('meta.lastModified lt "2011-05-13T04:42:34Z"')).toBe(false);
    expect(matches('meta.created le "2010-01-23T04:56:22Z"')).toBe(true);
    expect(matches("title pr")).toBe(true);
    expect(matches("profileUrl pr")).toBe(false);
    expect(matches("active eq true")).toBe(true);
    expect(matches('active eq "False"')).toBe(false);
  });

  it("treats ne and null by absence", () => {
    expect(matches('profileUrl ne "x"')).toBe(true);
    expect(matches("profileUrl eq null")).toBe(true);
    expect(matches("title ne null")).toBe(true);
  });

  it("matches a multi-valued attribute when any value matches", () => {
    expect(matches('emails.value eq "babs@jensen.org"')).toBe(true);
    expect(matches('emails co "jensen.org"')).toBe(true);
    expect(matches('emails.type eq "other"')).toBe(false);
  });

  it("requires one element to satisfy the whole value filter", () => {
    expect(matches('emails[type eq "work" and value co "@example.com"]')).toBe(true);
    // The home address is at jensen.org, the work one is not: no single element has both.
    expect(matches('emails[type eq "work" and value co "jensen.org"]')).toBe(false);
    expect(matches('emails[type eq "work"].value eq "babs@jensen.org"')).toBe(false);
    expect(matches('emails[type eq "home"].value eq "babs@jensen.org"')).toBe(true);
    expect(matches('emails[not (type eq "work")]')).toBe(true);
  });

  it("reads extension attributes, qualified or not", () => {
    expect(matches('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations"')).toBe(true);
    expect(matches('manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"')).toBe(true);
    expect(matches("costCenter pr and division pr")).toBe(false);
  });

  it("evaluates the RFC's compound examples", () => {
    expect(matches('userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")')).toBe(true);
    expect(matches('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")')).toBe(false);
    expect(matches('title pr and userType eq "Employee"')).toBe(true);
    expect(matches('not (title pr) or userType eq "Intern"')).toBe(false);
  });
});
