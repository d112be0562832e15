// The User and Group resources UniAsset keeps, their validation (zod, after normalize.ts has
// put names and types in canonical form), and their wire representation with id, meta and schemas.
import { z } from "zod";
import { ScimError } from "./errors.ts";
import { normalizeResource, normalizeValue } from "./normalize.ts";
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, GROUP_SCHEMA_DEFINITION, USER_SCHEMA } from "./schema.ts";

const MAX_TEXT = 1024;
const MAX_NAME = 256;
/** Per multi-valued attribute (emails, phoneNumbers, addresses): more than a person has. */
export const MAX_VALUES_PER_ATTRIBUTE = 20;

const text = (max = MAX_TEXT) => z.string().max(max, { message: `must be at most ${max} characters` });
const required = (max: number) =>
  z
    .string()
    .trim()
    .min(1, { message: "must not be empty" })
    .max(max, { message: `must be at most ${max} characters` });

/** RFC 7643 §2.4: "The primary attribute value 'true' MUST appear no more than once." */
function multiValued<T extends z.ZodType<{ primary?: boolean | undefined }>>(item: T) {
  return z
    .array(item)
    .max(MAX_VALUES_PER_ATTRIBUTE, { message: `must have at most ${MAX_VALUES_PER_ATTRIBUTE} values` })
    .refine((items) => items.filter((entry) => entry.primary === true).length <= 1, { message: "may mark only one value as primary" });
}

const multiValue = z.object({
  value: text().optional(),
  display: text().optional(),
  type: text(64).optional(),
  primary: z.boolean().optional(),
});

const address = z.object({
  formatted: text().optional(),
  streetAddress: text().optional(),
  locality: text().optional(),
  region: text().optional(),
  postalCode: text(64).optional(),
  country: text(64).optional(),
  type: text(64).optional(),
  primary: z.boolean().optional(),
});

const enterpriseUser = z.object({
  employeeNumber: text(MAX_NAME).optional(),
  costCenter: text(MAX_NAME).optional(),
  organization: text(MAX_NAME).optional(),
  division: text(MAX_NAME).optional(),
  department: text(MAX_NAME).optional(),
  manager: z.object({ value: text(MAX_NAME).optional(), $ref: text().optional() }).optional(),
});

/** The attributes of a User that UniAsset keeps: what POST and PUT set and PATCH changes. */
export const scimUserSchema = z.object({
  userName: required(MAX_NAME),
  externalId: text(MAX_NAME).optional(),
  name: z
    .object({
      formatted: text().optional(),
      familyName: text(MAX_NAME).optional(),
      givenName: text(MAX_NAME).optional(),
      middleName: text(MAX_NAME).optional(),
      honorificPrefix: text(MAX_NAME).optional(),
      honorificSuffix: text(MAX_NAME).optional(),
    })
    .optional(),
  displayName: text(MAX_NAME).optional(),
  nickName: text(MAX_NAME).optional(),
  profileUrl: text().optional(),
  title: text(MAX_NAME).optional(),
  userType: text(MAX_NAME).optional(),
  preferredLanguage: text(64).optional(),
  locale: text(64).optional(),
  timezone: text(64).optional(),
  active: z.boolean().optional(),
  emails: multiValued(multiValue).optional(),
  phoneNumbers: multiValued(multiValue).optional(),
  addresses: multiValued(address).optional(),
  [ENTERPRISE_USER_SCHEMA]: enterpriseUser.optional(),
});

export type ScimUser = z.infer<typeof scimUserSchema>;
export type EnterpriseUser = z.infer<typeof enterpriseUser>;

/** A Group's own attributes; its members are kept apart (they can be 100,000 rows). */
export const scimGroupSchema = z.object({
  displayName: required(MAX_NAME),
  externalId: text(MAX_NAME).optional(),
});

export type ScimGroup = z.infer<typeof scimGroupSchema>;

/** A member as a request names it: the SCIM id of a User. */
export const groupMemberSchema = z.object({
  value: required(MAX_NAME),
  $ref: text().optional(),
  type: z
    .string()
    .refine((type) => type.toLowerCase() === "user", { message: 'must be "User": UniAsset groups hold Users, not Groups' })
    .optional(),
});

const MEMBERS = GROUP_SCHEMA_DEFINITION.attributes.find((attribute) => attribute.name === "members")!;

/**
 * The id of every member a Group body or a PATCH value names (deduplicated, in order). Entra
 * sends `"$ref": null` beside each value, and Okta a `display`: normalised away first.
 */
export function memberIds(value: unknown, label: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  const members = list.map((item, index) => {
    const [member] = (normalizeValue(MEMBERS, [item], `${label}[${index}]`) as unknown[] | undefined) ?? [];
    if (member === undefined) throw ScimError.invalidValue(`"${label}[${index}]" names no member: it needs a "value".`);
    return member;
  });
  const parsed = z.array(groupMemberSchema).safeParse(members);
  if (!parsed.success) throw zodFailure(parsed.error, label);
  return [...new Set(parsed.data.map((member) => member.value))];
}

/** Turns the first zod issues into one `invalidValue` detail naming the attribute. */
export function zodFailure(error: z.ZodError, prefix?: string): ScimError {
  const messages = error.issues.slice(0, 3).map((issue) => {
    const where = [prefix, ...issue.path.map((part) => (typeof part === "number" ? `[${part}]` : String(part)))]
      .filter(Boolean)
      .join(".")
      .replace(/\.\[/g, "[");
    return where ? `"${where}" ${issue.message}` : issue.message;
  });
  return ScimError.invalidValue(`${[...new Set(messages)].join("; ")}.`);
}

export interface ParsedUser {
  user: ScimUser;
  /** Attributes sent but not kept; the caller may record them. */
  ignored: string[];
}

/** A POST or PUT body for /Users: normalised, then validated. Throws ScimError. */
export function parseUserBody(body: unknown): ParsedUser {
  const { resource, ignored } = normalizeResource(body, "User");
  return { user: validateUser(resource), ignored };
}

/** Validates a canonical User (after normalisation or a PATCH). */
export function validateUser(resource: Record<string, unknown>): ScimUser {
  if (resource.userName === undefined) throw ScimError.invalidValue('"userName" is required.');
  const parsed = scimUserSchema.safeParse(resource);
  if (!parsed.success) throw zodFailure(parsed.error);
  return parsed.data;
}

export interface ParsedGroup {
  group: ScimGroup;
  /** The members the body lists (a PUT replaces the whole membership with them). */
  members: string[];
  ignored: string[];
}

/** A POST or PUT body for /Groups. Throws ScimError. */
export function parseGroupBody(body: unknown): ParsedGroup {
  const { resource, ignored } = normalizeResource(body, "Group");
  const { members, ...rest } = resource;
  return { group: validateGroup(rest), members: members === undefined ? [] : memberIds(members, "members"), ignored };
}

export function validateGroup(resource: Record<string, unknown>): ScimGroup {
  if (resource.displayName === undefined) throw ScimError.invalidValue('"displayName" is required.');
  const parsed = scimGroupSchema.safeParse(resource);
  if (!parsed.success) throw zodFailure(parsed.error);
  return parsed.data;
}

/**
 * A User is active unless it says otherwise: RFC 7643 gives `active` no default, and both Okta
 * and Entra always send it, so a client that leaves it out means an ordinary, active account.
 */
export function isActive(user: ScimUser): boolean {
  return user.active !== false;
}

/** What the server adds to a resource: RFC 7643 §3.1. Times are ISO 8601 (xsd:dateTime). */
export interface ResourceMeta {
  id: string;
  created: string;
  lastModified: string;
  /** The resource's own URI, e.g. `${APP_ORIGIN}/scim/v2/Users/${id}`. */
  location: string;
}

export interface MemberOutput {
  value: string;
  display?: string;
  $ref?: string;
}

/** The wire form of a User: schemas, id, the kept attributes, and meta. */
export function userResource(user: ScimUser, meta: ResourceMeta): Record<string, unknown> {
  const schemas = user[ENTERPRISE_USER_SCHEMA] ? [USER_SCHEMA, ENTERPRISE_USER_SCHEMA] : [USER_SCHEMA];
  return { schemas, id: meta.id, ...user, meta: metaOf("User", meta) };
}

/**
 * The wire form of a Group. `members` is left out when the caller did not read them: Entra asks
 * for groups with `excludedAttributes=members` and "it isn't necessary to support returning all
 * the members" (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
 */
export function groupResource(group: ScimGroup, meta: ResourceMeta, members?: MemberOutput[]): Record<string, unknown> {
  return {
    schemas: [GROUP_SCHEMA],
    id: meta.id,
    ...group,
    ...(members ? { members } : {}),
    meta: metaOf("Group", meta),
  };
}

function metaOf(resourceType: "User" | "Group", meta: ResourceMeta) {
  return { resourceType, created: meta.created, lastModified: meta.lastModified, location: meta.location };
}
