// Mapping edits apply to everyone at the next run (migrations/0024): the organization's mapping
// version, and a re-deciding run's scratch of who is in which mapped group.
import { eq, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { mappingEdits, type Role } from "./schema.ts";

/** Part of the edit's own batch: the mapping changed, so the next run re-decides everyone. */
export function markMappingEdited(organizationId: string, now: number) {
  return sql`insert into mapping_edits (organization_id, edited_version, applied_version, edited_at)
    values (${organizationId}, 1, 0, ${now})
    on conflict (organization_id) do update set edited_version = edited_version + 1, edited_at = excluded.edited_at`;
}

/** The version a run must apply, or null when nothing was edited since the last run that applied one. */
export async function findPendingMappingEdit(db: Db, organizationId: string): Promise<{ version: number; editedAt: number } | null> {
  const [row] = await db.select().from(mappingEdits).where(eq(mappingEdits.organizationId, organizationId));
  return row && row.editedVersion > row.appliedVersion ? { version: row.editedVersion, editedAt: row.editedAt } : null;
}

/** An edit made while the run went keeps its own, higher version: the next run applies it. */
export function markMappingApplied(organizationId: string, version: number) {
  return sql`update mapping_edits set applied_version = max(applied_version, ${version}) where organization_id = ${organizationId}`;
}

/**
 * One page of a mapped group's transitive user members (≤ 999 object ids): the active members of
 * the organization linked to those oids, Owners left out, get the group added to their matches.
 * One statement however many oids (one bound JSON parameter; D1 binds at most 100 a statement).
 */
export function recordGroupMatches(match: { runId: string; organizationId: string; tenantId: string; groupId: string }, oids: string[]) {
  return sql`insert into remap_matches (run_id, user_id, groups)
    select ${match.runId}, m.user_id, json_array(${match.groupId})
    from json_each(${JSON.stringify(oids)}) page
    cross join identities i on i.provider = 'microsoft' and i.issuer_key = ${match.tenantId} and i.subject = page.value
    cross join memberships m on m.organization_id = ${match.organizationId} and m.user_id = i.user_id
    where +m.status = 'active' and +m.role <> 'owner'
    on conflict (run_id, user_id) do update set groups = json_insert(remap_matches.groups, '$[#]', ${match.groupId})
      where not exists (select 1 from json_each(remap_matches.groups) g where g.value = ${match.groupId})`;
}

export interface RemapMember {
  oid: string;
  user_id: string;
  role: Role;
  /** JSON array of the mapped group ids the member is in; null: none (the default role). */
  groups: string | null;
  /** Their "Why this role" as it stands: the rule and the deciding group's id (null without one). */
  decided_rule: string | null;
  decided_group_id: string | null;
}

/**
 * The next `limit` active linked members (Owners left out) after `afterOid`, in the identities
 * primary key's order, with the mapped groups the run found them in: one range of that index.
 */
export function readRemapMembers(
  db: Db,
  page: { runId: string; organizationId: string; tenantId: string; afterOid: string; limit: number },
): Promise<RemapMember[]> {
  return db.all<RemapMember>(sql`
    select i.subject as oid, m.user_id as user_id, m.role as role, r.groups as groups,
      rd.rule as decided_rule, rd.deciding_group ->> '$.id' as decided_group_id
    from identities i
    cross join memberships m on m.organization_id = ${page.organizationId} and m.user_id = i.user_id
    left join remap_matches r on r.run_id = ${page.runId} and r.user_id = m.user_id
    left join role_decisions rd on rd.organization_id = ${page.organizationId} and rd.user_id = m.user_id
    where i.provider = 'microsoft' and i.issuer_key = ${page.tenantId} and i.subject > ${page.afterOid}
      and +m.status = 'active' and +m.role <> 'owner'
    order by i.subject
    limit ${page.limit}`);
}

/** Up to `limit` of a run's scratch rows; returns how many went (0: all gone). */
export async function deleteRemapMatches(db: Db, runId: string, limit: number): Promise<number> {
  const result = await db.run(
    sql`delete from remap_matches where rowid in (select rowid from remap_matches where run_id = ${runId} limit ${limit})`,
  );
  return result.meta.changes ?? 0;
}
