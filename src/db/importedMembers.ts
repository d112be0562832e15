// Members imported from the directory: who is already linked to a tenant, and the writes that
// pre-create directory users (bulk import).
// Import writes are race-safe inside one D1 batch (a transaction): the membership and the role
// decision go to whichever user holds the (tid, oid) identity, and a user row that lost a race for
// that identity is removed again, so two imports at once never make duplicates or orphans.
import { and, asc, eq, sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { identities, memberships, users, type MappableRole, type Role } from "./schema.ts";
import { memberEventsFor } from "./outbox.ts";

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

/** The writes that link and activate one directory user; they change nothing already there. */
export function importPersonStatements(organizationId: string, tenantId: string, person: ImportedPerson, now: number): SQL[] {
  return linkPersonStatements(organizationId, tenantId, person, now, ({ linked, made }) => [
    // member.imported, only for a membership this import just created: an import audits once for
    // everyone (bulkImport.ts), so each person's event is raised here, in their own batch.
    memberEventsFor(
      "member.imported",
      { organizationId, now },
      { role: sql`m.role`, cause: "import", run_id: null, actor_user_id: null },
      { from: made, where: sql`${linked} and m.created_at = ${now}` },
    ),
  ]);
}

/**
 * The writes that link and activate one directory user (Import, and the joiners a run adds:
 * db/joiners.ts), with `after` written between the membership and the role decision: the person's
 * own audit rows and events, which `linked` (their identity) and `made` (identity `i`, membership
 * `m` and user `u`) select.
 */
export function linkPersonStatements(
  organizationId: string,
  tenantId: string,
  person: ImportedPerson,
  now: number,
  after: (rows: { linked: SQL; made: SQL }) => SQL[],
): SQL[] {
  const newUserId = crypto.randomUUID();
  const linked = sql`provider = 'microsoft' and issuer_key = ${tenantId} and subject = ${person.oid}`;
  const made = sql`identities i join memberships m on m.user_id = i.user_id and m.organization_id = ${organizationId} join users u on u.id = i.user_id`;
  const role: Role = person.role;
  const writes = [
    sql`insert into users (id, email, display_name, created_at)
      select ${newUserId}, ${person.email}, ${person.displayName}, ${now} where not exists (select 1 from identities where ${linked})`,
    sql`insert into identities (provider, issuer_key, subject, user_id, email, created_at)
      select 'microsoft', ${tenantId}, ${person.oid}, ${newUserId}, ${person.email}, ${now} where exists (select 1 from users where id = ${newUserId})
      on conflict do nothing`,
    sql`delete from users where id = ${newUserId} and not exists (select 1 from identities where user_id = ${newUserId})`,
    // The sort keys are written with the row, so the keys trigger (migrations/0008) has nothing to redo.
    sql`insert into memberships (organization_id, user_id, role, status, created_at, name_key, email_key)
      select ${organizationId}, i.user_id, ${role}, 'active', ${now}, lower(u.display_name), lower(u.email)
      from identities i join users u on u.id = i.user_id where ${linked}
      on conflict do nothing`,
    ...after({ linked, made }),
  ];
  if (person.decision) {
    const d = person.decision;
    writes.push(
      sql`insert into role_decisions (organization_id, user_id, role, rule, matched_groups, deciding_group, graph_read_at, decided_at)
        select ${organizationId}, user_id, ${role}, ${d.rule}, ${JSON.stringify(d.matchedGroups)},
          ${d.decidingGroup ? JSON.stringify(d.decidingGroup) : null}, ${d.graphReadAt}, ${now} from identities where ${linked}
        on conflict do nothing`,
    );
  }
  return writes;
}
