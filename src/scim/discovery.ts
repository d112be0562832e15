// The discovery documents (RFC 7644 §4, RFC 7643 §5–7): /ServiceProviderConfig, /ResourceTypes
// and /Schemas. They are built from the same constants the code obeys (schema.ts, list.ts), so
// what they claim is what the endpoint does: PATCH yes; bulk, sorting, ETags and password
// changes no; filters yes, up to MAX_PAGE_SIZE results a page; one bearer token per organization.
import { MAX_PAGE_SIZE } from "./list.ts";
import { RESOURCE_SCHEMAS, SCHEMA_DEFINITIONS, type AttributeDefinition, type ResourceTypeName, type SchemaDefinition } from "./schema.ts";

export const SERVICE_PROVIDER_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
export const RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
export const SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/** `baseUrl` is the SCIM base, `${APP_ORIGIN}/scim/v2`, without a trailing slash. */
export function serviceProviderConfig(baseUrl: string, documentationUri?: string) {
  return {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    ...(documentationUri ? { documentationUri } : {}),
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_PAGE_SIZE },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: "oauthbearertoken",
        name: "OAuth Bearer Token",
        description:
          'The organization\'s SCIM token, generated in Settings → Integrations → SCIM provisioning, sent as "Authorization: Bearer <token>".',
        specUri: "https://www.rfc-editor.org/info/rfc6750",
        primary: true,
      },
    ],
    meta: { resourceType: "ServiceProviderConfig", location: `${baseUrl}/ServiceProviderConfig` },
  };
}

const RESOURCE_TYPE_INFO: Record<ResourceTypeName, { endpoint: string; description: string }> = {
  User: { endpoint: "/Users", description: "A person in the organization" },
  Group: { endpoint: "/Groups", description: "A group of Users; groups decide roles through the group → role mapping" },
};

export function resourceTypeDocument(baseUrl: string, name: ResourceTypeName) {
  const { core, extensions } = RESOURCE_SCHEMAS[name];
  return {
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: name,
    name,
    endpoint: RESOURCE_TYPE_INFO[name].endpoint,
    description: RESOURCE_TYPE_INFO[name].description,
    schema: core.id,
    ...(extensions.length > 0 ? { schemaExtensions: extensions.map((extension) => ({ schema: extension.id, required: false })) } : {}),
    meta: { resourceType: "ResourceType", location: `${baseUrl}/ResourceTypes/${name}` },
  };
}

export function resourceTypeDocuments(baseUrl: string) {
  return (Object.keys(RESOURCE_SCHEMAS) as ResourceTypeName[]).map((name) => resourceTypeDocument(baseUrl, name));
}

/** The resource type a `/ResourceTypes/{id}` request names, or undefined (a 404). */
export function findResourceType(id: string): ResourceTypeName | undefined {
  return (Object.keys(RESOURCE_SCHEMAS) as ResourceTypeName[]).find((name) => name === id);
}

export function schemaDocument(baseUrl: string, schema: SchemaDefinition) {
  return {
    schemas: [SCHEMA_SCHEMA],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes.map(attributeDocument),
    meta: { resourceType: "Schema", location: `${baseUrl}/Schemas/${schema.id}` },
  };
}

export function schemaDocuments(baseUrl: string) {
  return SCHEMA_DEFINITIONS.map((schema) => schemaDocument(baseUrl, schema));
}

/** The schema a `/Schemas/{urn}` request names, or undefined (a 404). */
export function findSchemaDefinition(id: string): SchemaDefinition | undefined {
  return SCHEMA_DEFINITIONS.find((schema) => schema.id === id);
}

/** RFC 7643 §7's attribute form. Absent characteristics are left out, never null (Entra's guidance). */
function attributeDocument(definition: AttributeDefinition): Record<string, unknown> {
  return {
    name: definition.name,
    type: definition.type,
    multiValued: definition.multiValued,
    description: definition.description,
    required: definition.required,
    caseExact: definition.caseExact,
    mutability: definition.mutability,
    returned: definition.returned,
    uniqueness: definition.uniqueness,
    ...(definition.canonicalValues ? { canonicalValues: definition.canonicalValues } : {}),
    ...(definition.referenceTypes ? { referenceTypes: definition.referenceTypes } : {}),
    ...(definition.subAttributes ? { subAttributes: definition.subAttributes.map(attributeDocument) } : {}),
  };
}
