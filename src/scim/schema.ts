// The SCIM schemas UniAsset supports (RFC 7643 §4 and §8.7.1), written once as data. Everything
// else reads them: the filter parser resolves attribute names here (so an unknown attribute is an
// error, never an empty result), PATCH resolves its paths here, bodies are normalised against
// them, and /Schemas serialises them, so the discovery documents cannot drift from what the code
// accepts.

export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
export const ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";

export type AttributeType = "string" | "boolean" | "decimal" | "integer" | "dateTime" | "reference" | "complex";
export type Mutability = "readOnly" | "readWrite" | "immutable" | "writeOnly";
export type Returned = "always" | "never" | "default" | "request";

/** One attribute as RFC 7643 §7 describes it in a schema resource. */
export interface AttributeDefinition {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: "none" | "server" | "global";
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDefinition[];
}

export interface SchemaDefinition {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDefinition[];
}

export type ResourceTypeName = "User" | "Group";

function attr(name: string, description: string, options: Partial<AttributeDefinition> = {}): AttributeDefinition {
  return {
    name,
    type: "string",
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: "readWrite",
    returned: "default",
    uniqueness: "none",
    ...options,
  };
}

/** The sub-attributes every multi-valued "value/display/type/primary" attribute has (RFC 7643 §2.4). */
function multiValuedSubAttributes(valueDescription: string, types: string[]): AttributeDefinition[] {
  return [
    attr("value", valueDescription),
    attr("display", "A human-readable name, primarily used for display purposes."),
    attr("type", "A label indicating the attribute's function.", { canonicalValues: types }),
    attr(
      "primary",
      "Indicates the 'primary' or preferred attribute value for this attribute. The primary attribute value 'true' MUST appear no more than once.",
      { type: "boolean" },
    ),
  ];
}

const ID = attr("id", "Unique identifier for the resource, assigned by UniAsset.", {
  caseExact: true,
  mutability: "readOnly",
  returned: "always",
  uniqueness: "server",
});

const EXTERNAL_ID = attr("externalId", "An identifier for the resource as defined by the provisioning client.", { caseExact: true });

/** The common `meta` attribute (RFC 7643 §3.1). Filters may use meta.created and meta.lastModified. */
export const META_ATTRIBUTE = attr("meta", "Resource metadata maintained by UniAsset.", {
  type: "complex",
  mutability: "readOnly",
  subAttributes: [
    attr("resourceType", "The name of the resource type of the resource.", { mutability: "readOnly", caseExact: true }),
    attr("created", "The date and time the resource was added to UniAsset.", { type: "dateTime", mutability: "readOnly" }),
    attr("lastModified", "The most recent date and time the resource was modified in UniAsset.", {
      type: "dateTime",
      mutability: "readOnly",
    }),
    attr("location", "The URI of the resource being returned.", {
      type: "reference",
      referenceTypes: ["uri"],
      mutability: "readOnly",
      caseExact: true,
    }),
  ],
});

export const USER_SCHEMA_DEFINITION: SchemaDefinition = {
  id: USER_SCHEMA,
  name: "User",
  description: "User Account",
  attributes: [
    ID,
    EXTERNAL_ID,
    attr(
      "userName",
      "Unique identifier for the User, used by the provisioning client to find the User. Unique across the organization's Users, compared case-insensitively.",
      {
        required: true,
        uniqueness: "server",
      },
    ),
    attr("name", "The components of the user's real name.", {
      type: "complex",
      subAttributes: [
        attr("formatted", "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
        attr("familyName", "The family name of the User."),
        attr("givenName", "The given name of the User."),
        attr("middleName", "The middle name(s) of the User."),
        attr("honorificPrefix", "The honorific prefix(es) of the User."),
        attr("honorificSuffix", "The honorific suffix(es) of the User."),
      ],
    }),
    attr("displayName", "The name of the User, suitable for display to end-users."),
    attr("nickName", "The casual way to address the user in real life."),
    attr("profileUrl", "A fully qualified URL pointing to a page representing the User's online profile.", {
      type: "reference",
      referenceTypes: ["external"],
    }),
    attr("title", 'The user\'s title, such as "Vice President".'),
    attr("userType", "Used to identify the relationship between the organization and the user."),
    attr("preferredLanguage", "Indicates the User's preferred written or spoken language."),
    attr(
      "locale",
      "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations.",
    ),
    attr("timezone", "The User's time zone in the 'Olson' time zone database format."),
    attr("active", "The User's administrative status. false deactivates the member in UniAsset.", { type: "boolean" }),
    attr("emails", "Email addresses for the user.", {
      type: "complex",
      multiValued: true,
      subAttributes: multiValuedSubAttributes("Email addresses for the user.", ["work", "home", "other"]),
    }),
    attr("phoneNumbers", "Phone numbers for the User.", {
      type: "complex",
      multiValued: true,
      subAttributes: multiValuedSubAttributes("Phone number of the User.", ["work", "home", "mobile", "fax", "pager", "other"]),
    }),
    attr("addresses", "A physical mailing address for this User.", {
      type: "complex",
      multiValued: true,
      subAttributes: [
        attr("formatted", "The full mailing address, formatted for display or use with a mailing label."),
        attr("streetAddress", "The full street address component."),
        attr("locality", "The city or locality component."),
        attr("region", "The state or region component."),
        attr("postalCode", "The zip code or postal code component."),
        attr("country", "The country name component."),
        attr("type", "A label indicating the attribute's function.", { canonicalValues: ["work", "home", "other"] }),
        attr("primary", "Indicates the 'primary' or preferred address.", { type: "boolean" }),
      ],
    }),
  ],
};

export const ENTERPRISE_USER_SCHEMA_DEFINITION: SchemaDefinition = {
  id: ENTERPRISE_USER_SCHEMA,
  name: "EnterpriseUser",
  description: "Enterprise User",
  attributes: [
    attr(
      "employeeNumber",
      "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization.",
    ),
    attr("costCenter", "Identifies the name of a cost center."),
    attr("organization", "Identifies the name of an organization."),
    attr("division", "Identifies the name of a division."),
    attr("department", "Identifies the name of a department."),
    attr("manager", "The User's manager.", {
      type: "complex",
      subAttributes: [
        attr("value", "The id of the SCIM resource representing the User's manager.", { caseExact: true }),
        attr("$ref", "The URI of the SCIM resource representing the User's manager.", {
          type: "reference",
          referenceTypes: ["User"],
          caseExact: true,
        }),
        attr("displayName", "The displayName of the User's manager.", { mutability: "readOnly" }),
      ],
    }),
  ],
};

export const GROUP_SCHEMA_DEFINITION: SchemaDefinition = {
  id: GROUP_SCHEMA,
  name: "Group",
  description: "Group",
  attributes: [
    ID,
    EXTERNAL_ID,
    attr("displayName", "A human-readable name for the Group.", { required: true }),
    attr("members", "The Users in the Group. UniAsset groups hold Users, not other Groups.", {
      type: "complex",
      multiValued: true,
      subAttributes: [
        attr("value", "Identifier of the member of this Group.", { caseExact: true, mutability: "immutable" }),
        attr("$ref", "The URI of the member resource.", {
          type: "reference",
          referenceTypes: ["User"],
          caseExact: true,
          mutability: "immutable",
        }),
        attr("display", "The member's display name.", { mutability: "readOnly" }),
        attr("type", 'The type of the member: always "User".', { canonicalValues: ["User"], mutability: "immutable" }),
      ],
    }),
  ],
};

export const SCHEMA_DEFINITIONS = [USER_SCHEMA_DEFINITION, ENTERPRISE_USER_SCHEMA_DEFINITION, GROUP_SCHEMA_DEFINITION];

/** Which schemas make up each resource type: the core one first, then its extensions. */
export const RESOURCE_SCHEMAS: Record<ResourceTypeName, { core: SchemaDefinition; extensions: SchemaDefinition[] }> = {
  User: { core: USER_SCHEMA_DEFINITION, extensions: [ENTERPRISE_USER_SCHEMA_DEFINITION] },
  Group: { core: GROUP_SCHEMA_DEFINITION, extensions: [] },
};

/**
 * A resolved attribute: the schema it belongs to, its canonical name and, for `name.givenName`
 * or `emails.value`, the sub-attribute. This is what the filter AST and PATCH paths carry, so a
 * later SQL compiler can map it to a column without parsing names again.
 */
export interface AttributeRef {
  schema: string;
  attribute: string;
  subAttribute?: string;
}

export interface ResolvedAttribute {
  ref: AttributeRef;
  /** The top-level attribute. */
  definition: AttributeDefinition;
  /** The sub-attribute, when the path names one. */
  sub?: AttributeDefinition;
}

function findByName(list: AttributeDefinition[] | undefined, name: string): AttributeDefinition | undefined {
  const lower = name.toLowerCase();
  return list?.find((candidate) => candidate.name.toLowerCase() === lower);
}

function findSchema(resourceType: ResourceTypeName, urn: string): SchemaDefinition | undefined {
  const { core, extensions } = RESOURCE_SCHEMAS[resourceType];
  const lower = urn.toLowerCase();
  return [core, ...extensions].find((schema) => schema.id.toLowerCase() === lower);
}

/** The extension schema a key names (an attribute key of a resource body such as "urn:…:enterprise:2.0:User"). */
export function findExtension(resourceType: ResourceTypeName, key: string): SchemaDefinition | undefined {
  const lower = key.toLowerCase();
  return RESOURCE_SCHEMAS[resourceType].extensions.find((schema) => schema.id.toLowerCase() === lower);
}

/** `meta` is common to every resource type but belongs to no schema (RFC 7643 §3.1); it resolves to the core schema. */
function findAttribute(resourceType: ResourceTypeName, schema: SchemaDefinition, name: string): AttributeDefinition | undefined {
  const found = findByName(schema.attributes, name);
  if (found) return found;
  if (schema === RESOURCE_SCHEMAS[resourceType].core && name.toLowerCase() === "meta") return META_ATTRIBUTE;
  return undefined;
}

/**
 * Splits "urn:…:User:name.givenName" into the schema URN and the rest. A URN prefix is whatever
 * comes before the last ":" that is followed by an attribute name (RFC 7644 §3.10); version
 * numbers such as "2.0" contain dots, so the split is on the last colon.
 */
export function splitSchemaPrefix(path: string): { urn?: string; rest: string } {
  if (!path.toLowerCase().startsWith("urn:")) return { rest: path };
  const colon = path.lastIndexOf(":");
  return { urn: path.slice(0, colon), rest: path.slice(colon + 1) };
}

/**
 * Resolves an attribute path (without filters) such as "userName", "NAME.givenname",
 * "urn:ietf:params:scim:schemas:core:2.0:User:userName" or "manager" to its definition, or
 * undefined when UniAsset does not support it. Names are case-insensitive (RFC 7643 §2.1).
 * An unqualified name that is not in the core schema is looked up in the extensions: Microsoft
 * Entra sends "manager" and "department" unqualified (the PATCH and POST examples of
 * https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
 */
export function resolveAttribute(resourceType: ResourceTypeName, path: string): ResolvedAttribute | undefined {
  const { urn, rest } = splitSchemaPrefix(path);
  const [name, sub, ...deeper] = rest.split(".");
  if (!name || deeper.length > 0 || sub === "") return undefined;
  const schemas =
    urn === undefined
      ? [RESOURCE_SCHEMAS[resourceType].core, ...RESOURCE_SCHEMAS[resourceType].extensions]
      : [findSchema(resourceType, urn)].filter((schema) => schema !== undefined);
  for (const schema of schemas) {
    const definition = findAttribute(resourceType, schema, name);
    if (!definition) continue;
    if (sub === undefined) return { ref: { schema: schema.id, attribute: definition.name }, definition };
    const subDefinition = findByName(definition.subAttributes, sub);
    if (!subDefinition) return undefined;
    return { ref: { schema: schema.id, attribute: definition.name, subAttribute: subDefinition.name }, definition, sub: subDefinition };
  }
  return undefined;
}

/** "name.givenName" for core attributes, "urn:…:User:department" for extension attributes: how messages and change lists name them. */
export function attributeLabel(ref: AttributeRef, resourceType: ResourceTypeName): string {
  const local = ref.subAttribute ? `${ref.attribute}.${ref.subAttribute}` : ref.attribute;
  return ref.schema === RESOURCE_SCHEMAS[resourceType].core.id ? local : `${ref.schema}:${local}`;
}
