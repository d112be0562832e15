// The SCIM-provisioned member a first sign-in may link to (src/signin/scimLink.ts states the rule):
// one statement for sign-in's read batch, across organizations, along scim_users' own indexes on
// the Entra object id and the email (migrations/0021).
import { eq, sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { memberships, organizations } from "./schema.ts";

export interface ScimLinkKeys {
  provider: "microsoft" | "google";
  /** The Entra object id (lower case) of a Microsoft member account, else null. */
  objectId: string | null;
  /** An email whose domain its issuer verified (lower case), else null. */
  email: string | null;
}

/** The condition that `userId` still has no identity of `provider`: a premise of the linking write batch. */
export function noIdentityOf(provider: ScimLinkKeys["provider"], userId: SQL | string): SQL {
  return sql`not exists (select 1 from identities i where i.user_id = ${userId} and i.provider = ${provider})`;
}

/**
 * The memberships of the one SCIM-provisioned user these keys name, in the shape of
 * findLinkedMemberships: the User whose Entra object id is the person's first, else the oldest
 * whose email is the person's, and only while that user has no identity of this provider yet (a
 * member already linked is found by their identity; a second account of the same provider never
 * takes them over). Empty when none; reads nothing when the person brings no key.
 */
export function findScimLinkCandidate(db: Db, keys: ScimLinkKeys) {
  const objectId = keys.objectId ?? "";
  const email = keys.email ?? "";
  const candidate = sql`(select s.user_id from scim_users s
    where (s.entra_object_id = ${objectId} or s.email_key = ${email})
      and ${noIdentityOf(keys.provider, sql`s.user_id`)}
    order by case when s.entra_object_id = ${objectId} then 0 else 1 end, s.created_at, s.user_id limit 1)`;
  return db
    .select({
      userId: memberships.userId,
      organizationId: memberships.organizationId,
      organizationName: organizations.name,
      role: memberships.role,
      status: memberships.status,
      linkedBy: sql<"entra_object_id" | "email">`case when exists (select 1 from scim_users s2
        where s2.user_id = ${memberships.userId} and s2.entra_object_id = ${objectId}) then 'entra_object_id' else 'email' end`,
    })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
    .where(keys.objectId || keys.email ? eq(memberships.userId, candidate) : sql`0`);
}
