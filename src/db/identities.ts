// Sign-in methods linked to users: Microsoft by (tenant id, object id), Google by sub.
import { eq, and } from "drizzle-orm";
import type { Db } from "./client.ts";
import { identities, memberships, organizations } from "./schema.ts";

type Provider = "microsoft" | "google";

export interface IdentityKey {
  provider: Provider;
  /** Microsoft: the tenant id (tid); Google: "google". */
  issuerKey: string;
  /** Microsoft: the object id (oid); Google: sub. */
  subject: string;
}

/** The linked user and all their memberships, in one round trip (empty when not linked). */
export function findLinkedMemberships(db: Db, key: IdentityKey) {
  return db
    .select({
      userId: identities.userId,
      organizationId: memberships.organizationId,
      organizationName: organizations.name,
      role: memberships.role,
      status: memberships.status,
    })
    .from(identities)
    .leftJoin(memberships, eq(memberships.userId, identities.userId))
    .leftJoin(organizations, eq(organizations.id, memberships.organizationId))
    .where(and(eq(identities.provider, key.provider), eq(identities.issuerKey, key.issuerKey), eq(identities.subject, key.subject)));
}

/**
 * Links a new identity. No ON CONFLICT: if a concurrent first sign-in linked the same identity a
 * moment ago, this fails and the whole batch (user, membership, session) rolls back with it.
 */
export function insertIdentity(db: Db, key: IdentityKey, userId: string, email: string | null, now: number) {
  return db.insert(identities).values({ ...key, userId, email, createdAt: now });
}
