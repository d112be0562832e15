// The sync scope (migrations/0023): who the directory brings in. An organization without a
// sync_scopes row has the default, everyone in the chosen domains. The tenant's verified domains
// are kept as rows, each chosen or not: a new connection chooses all but the initial
// *.onmicrosoft.com one, every later refresh (a reconnect of the same tenant, each run) drops the
// domains Entra no longer has and adds new ones unchosen and marked new.
import { eq, sql, type SQLWrapper } from "drizzle-orm";
import type { Db } from "./client.ts";
import { statement, type Statement } from "./statements.ts";
import { syncScopeDomains, syncScopeGroups, syncScopes, type SyncScopeMode } from "./schema.ts";

export interface ScopeDomain {
  name: string;
  chosen: boolean;
  isNew: boolean;
  isInitial: boolean;
}

export interface SyncScope {
  mode: SyncScopeMode;
  addNewPeople: boolean;
  groups: { id: string; name: string }[];
  domains: ScopeDomain[];
}

/** The tenant's verified domains as /organization reports them (lower case). */
export interface VerifiedDomain {
  name: string;
  isInitial: boolean;
}

/**
 * The domain list brought up to date with what Entra reports, as statements for the caller's batch.
 * `replace` (a new connection, or another tenant): the list starts over, every domain chosen but
 * the initial one. Otherwise (and also when the organization has no list yet) existing choices
 * stay, domains gone from Entra go, and a new one is added unchosen and marked new.
 */
export function refreshScopeDomains(db: Db, organizationId: string, domains: readonly VerifiedDomain[], replace: boolean): Statement[] {
  const reported = JSON.stringify(domains.map((d) => ({ name: d.name.toLowerCase(), initial: d.isInitial ? 1 : 0 })));
  return [
    statement(
      db,
      replace
        ? sql`delete from sync_scope_domains where organization_id = ${organizationId}`
        : sql`delete from sync_scope_domains where organization_id = ${organizationId}
            and name not in (select json_extract(value, '$.name') from json_each(${reported}))`,
    ),
    // The SELECT reads the table it inserts into, so SQLite runs it to the end before the first
    // insert: `fresh` is decided once, before any row of this refresh exists.
    statement(
      db,
      sql`insert into sync_scope_domains (organization_id, name, chosen, is_new, is_initial)
        select ${organizationId}, json_extract(d.value, '$.name'),
          case when f.fresh then 1 - json_extract(d.value, '$.initial') else 0 end,
          case when f.fresh then 0 else 1 end,
          json_extract(d.value, '$.initial')
        from json_each(${reported}) d,
          (select not exists (select 1 from sync_scope_domains where organization_id = ${organizationId}) as fresh) f
        where true
        on conflict (organization_id, name) do update set is_initial = excluded.is_initial`,
    ),
  ];
}

/** The chosen domains' names (lower case): a run's refresh compares them with what Entra reports. */
export async function listChosenDomains(db: Db, organizationId: string): Promise<string[]> {
  const rows = await db.all<{ name: string }>(
    sql`select name from sync_scope_domains where organization_id = ${organizationId} and chosen = 1`,
  );
  return rows.map((row) => row.name);
}

/** Disconnect: the scope goes with the connection (a later connection starts from the defaults). */
export function deleteScope(db: Db, organizationId: string) {
  return [
    db.delete(syncScopeDomains).where(eq(syncScopeDomains.organizationId, organizationId)),
    db.delete(syncScopeGroups).where(eq(syncScopeGroups.organizationId, organizationId)),
    db.delete(syncScopes).where(eq(syncScopes.organizationId, organizationId)),
  ] as const;
}

export async function findScope(db: Db, organizationId: string): Promise<SyncScope> {
  const [settings, groups, domains] = await db.batch([
    db.select().from(syncScopes).where(eq(syncScopes.organizationId, organizationId)).limit(1),
    db
      .select({ id: syncScopeGroups.groupId, name: syncScopeGroups.displayName })
      .from(syncScopeGroups)
      .where(eq(syncScopeGroups.organizationId, organizationId))
      .orderBy(syncScopeGroups.displayName),
    db
      .select({
        name: syncScopeDomains.name,
        chosen: syncScopeDomains.chosen,
        isNew: syncScopeDomains.isNew,
        isInitial: syncScopeDomains.isInitial,
      })
      .from(syncScopeDomains)
      .where(eq(syncScopeDomains.organizationId, organizationId))
      .orderBy(syncScopeDomains.isInitial, syncScopeDomains.name),
  ]);
  return { mode: settings[0]?.mode ?? "domains", addNewPeople: settings[0]?.addNewPeople ?? false, groups, domains };
}

/**
 * A scope chosen on the Entra page, as statements: the mode, the groups (replaced), and which of
 * the listed domains are chosen (a domain the page showed is no longer new, chosen or not). A
 * domain name the list does not hold is ignored by the UPDATE: the caller checked them.
 */
export function saveScope(
  db: Db,
  organizationId: string,
  scope: { mode: SyncScopeMode; groups: { id: string; name: string }[]; chosenDomains: string[] },
  userId: string,
  now: number,
) {
  return [
    db
      .insert(syncScopes)
      .values({ organizationId, mode: scope.mode, updatedAt: now, updatedBy: userId })
      .onConflictDoUpdate({ target: syncScopes.organizationId, set: { mode: scope.mode, updatedAt: now, updatedBy: userId } }),
    db.delete(syncScopeGroups).where(eq(syncScopeGroups.organizationId, organizationId)),
    ...(scope.groups.length > 0
      ? [db.insert(syncScopeGroups).values(scope.groups.map((g) => ({ organizationId, groupId: g.id.toLowerCase(), displayName: g.name })))]
      : []),
    statement(
      db,
      sql`update sync_scope_domains set is_new = 0,
          chosen = (name in (select value from json_each(${JSON.stringify(scope.chosenDomains.map((d) => d.toLowerCase()))})))
        where organization_id = ${organizationId}`,
    ),
  ];
}

/** "Add new people automatically" (the Import page). */
export function saveAddNewPeople(db: Db, organizationId: string, enabled: boolean, userId: string, now: number) {
  return db
    .insert(syncScopes)
    .values({ organizationId, addNewPeople: enabled, updatedAt: now, updatedBy: userId })
    .onConflictDoUpdate({ target: syncScopes.organizationId, set: { addNewPeople: enabled, updatedAt: now, updatedBy: userId } });
}

/**
 * The scope as columns of a connection read (sign-in's one read batch): the mode, the chosen
 * domains and the groups' ids, each a subquery on the organization's primary keys.
 */
export function scopeColumns(organizationId: SQLWrapper) {
  return {
    scopeMode: sql<SyncScopeMode>`coalesce((select s.mode from sync_scopes s where s.organization_id = ${organizationId}), 'domains')`,
    // Null while the organization has no domain list yet (its connection's details were never read):
    // the caller then goes by the verified domains, what the connection accepted before scopes.
    scopeDomains: sql<string | null>`(select case when count(*) = 0 then null
        else (select json_group_array(c.name) from sync_scope_domains c where c.organization_id = ${organizationId} and c.chosen = 1) end
      from sync_scope_domains d where d.organization_id = ${organizationId})`,
    scopeGroupIds: sql<string>`(select json_group_array(g.group_id) from sync_scope_groups g where g.organization_id = ${organizationId})`,
  };
}

/** Parses the JSON arrays scopeColumns() reads. */
export function parseScopeList(value: string | null | undefined): string[] {
  if (!value) return [];
  const parsed: unknown = JSON.parse(value);
  return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === "string") : [];
}
