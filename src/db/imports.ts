// Who is already linked to a tenant, and the writes that pre-create directory users (bulk import).
// Import writes are race-safe inside one D1 batch (a transaction): the membership and the role
// decision go to whichever user holds the (tid, oid) identity, and a user row that lost a race for
// that identity is removed again, so two imports at once never make duplicates or orphans.
import { and, asc, eq } from "drizzle-orm";
import type { Db } from "./client.ts";
import { identities, memberships, users, type MappableRole, type Role } from "./schema.ts";

/** The organization's members signed in (or imported) with a Microsoft identity of this tenant. */
export function listTenantLinkedMembers(db: Db, organizationId: string, tenantId: string) {
  return db
    .select({
      userId: users.id,
      displayName: users.displayName,
      oid: identities.subject,
      role: memberships.role,
      status: memberships.status,
    })
    .from(identities)
    .innerJoin(users, eq(users.id, identities.userId))
    .innerJoin(memberships, and(eq(memberships.userId, identities.userId), eq(memberships.organizationId, organizationId)))
    .where(and(eq(identities.provider, "microsoft"), eq(identities.issuerKey, tenantId)))
    .orderBy(asc(users.displayName), asc(users.id));
}

export type TenantLinkedMember = Awaited<ReturnType<typeof listTenantLinkedMembers>>[number];

/** Every identity of the tenant (oid), with the membership in this organization when there is one. */
export function listTenantIdentities(db: Db, organizationId: string, tenantId: string) {
  return db
    .select({ oid: identities.subject, userId: identities.userId, membershipStatus: memberships.status })
    .from(identities)
    .leftJoin(memberships, and(eq(memberships.userId, identities.userId), eq(memberships.organizationId, organizationId)))
    .where(and(eq(identities.provider, "microsoft"), eq(identities.issuerKey, tenantId)));
}

export interface ImportedPerson {
  oid: string;
  email: string | null;
  displayName: string;
  role: MappableRole;
  /** The group → role decision to show as "Why this role"; null when mapping is off. */
  decision: {
    rule: "group" | "default";
    matchedGroups: { id: string; name: string; role: MappableRole }[];
    decidingGroup: { id: string; name: string } | null;
    graphReadAt: number;
  } | null;
}

/**
 * Statements that link and activate one directory user; they change nothing already there.
 * Plain D1 statements: drizzle cannot batch raw INSERT … SELECT with parameters.
 */
export function importPersonStatements(db: Db, organizationId: string, tenantId: string, person: ImportedPerson, now: number): D1PreparedStatement[] {
  const d1 = db.$client;
  const newUserId = crypto.randomUUID();
  const linked = "provider = 'microsoft' and issuer_key = ?1 and subject = ?2";
  const role: Role = person.role;
  const statements = [
    d1.prepare(`insert into users (id, email, display_name, created_at)
      select ?3, ?4, ?5, ?6 where not exists (select 1 from identities where ${linked})`)
      .bind(tenantId, person.oid, newUserId, person.email, person.displayName, now),
    d1.prepare(`insert into identities (provider, issuer_key, subject, user_id, email, created_at)
      select 'microsoft', ?1, ?2, ?3, ?4, ?5 where exists (select 1 from users where id = ?3)
      on conflict do nothing`)
      .bind(tenantId, person.oid, newUserId, person.email, now),
    d1.prepare("delete from users where id = ?1 and not exists (select 1 from identities where user_id = ?1)").bind(newUserId),
    d1.prepare(`insert into memberships (organization_id, user_id, role, status, created_at)
      select ?3, user_id, ?4, 'active', ?5 from identities where ${linked}
      on conflict do nothing`)
      .bind(tenantId, person.oid, organizationId, role, now),
  ];
  if (person.decision) {
    const d = person.decision;
    statements.push(
      d1.prepare(`insert into role_decisions (organization_id, user_id, role, rule, matched_groups, deciding_group, graph_read_at, decided_at)
        select ?3, user_id, ?4, ?5, ?6, ?7, ?8, ?9 from identities where ${linked}
        on conflict do nothing`)
        .bind(tenantId, person.oid, organizationId, role, d.rule, JSON.stringify(d.matchedGroups),
          d.decidingGroup ? JSON.stringify(d.decidingGroup) : null, d.graphReadAt, now),
    );
  }
  return statements;
}

/** One D1 batch: a transaction, so a person is linked completely or not at all. */
export async function runImportBatch(db: Db, statements: D1PreparedStatement[]): Promise<void> {
  if (statements.length > 0) await db.$client.batch(statements);
}
