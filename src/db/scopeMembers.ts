// The organization's members linked to the tenant as the sync scope judges them (issue 20): a run's
// scope check (runScope.ts) and a scope change's preview (src/entra/import/scopePreview.ts) read
// them in keyset pages. Who leaves or comes back is changed by the directory run's own change list
// (syncMembers.ts), with every leaver rule.
import { sql } from "drizzle-orm";
import type { Db } from "./client.ts";

/**
 * The preview of a scope change (src/entra/import/scopePreview.ts): the organization's members
 * linked to the tenant, in user id order, `limit` after `afterUserId`, each with how they stand and
 * whether the preview's scratch rows found any of their object ids in the proposed scope. Keyset
 * pages of the memberships' key, so a preview judges a million members a bounded page at a time.
 */
export function listStandingsAgainstPreview(
  db: Db,
  page: { organizationId: string; tenantId: string; importId: string; afterUserId: string; limit: number },
) {
  return db.all<{ user_id: string; name: string; role: string; status: string; reason: string | null; in_scope: number }>(sql`
    select m.user_id as user_id, u.display_name as name, m.role as role, m.status as status, m.deactivated_reason as reason,
      max(coalesce(p.in_scope, 0)) as in_scope
    from memberships m
    cross join identities i on i.user_id = m.user_id and i.provider = 'microsoft' and i.issuer_key = ${page.tenantId}
    cross join users u on u.id = m.user_id
    left join directory_import_people p on p.import_id = ${page.importId} and p.oid = lower(i.subject)
    where m.organization_id = ${page.organizationId} and m.user_id > ${page.afterUserId}
    group by m.user_id
    order by m.user_id
    limit ${page.limit}`);
}

/**
 * The sync scope's rule for one linked member, the same in a run and in a scope change's preview:
 * an active member outside the scope leaves it; one deactivated for leaving it who is inside again
 * comes back; anyone else stays as they are.
 */
export function scopeMove(member: { status: string; reason: string | null }, inside: boolean): "leaves" | "returns" | null {
  if (member.status === "active" && !inside) return "leaves";
  if (member.status === "deactivated" && member.reason === "left_scope" && inside) return "returns";
  return null;
}

/**
 * The organization's members linked to the tenant, in user id order, `limit` after `afterUserId`:
 * what a run's scope check judges (their object id and how they stand).
 */
export function listScopeStandings(db: Db, organizationId: string, tenantId: string, afterUserId: string, limit: number) {
  return db.all<{ user_id: string; oid: string; role: string; status: string; reason: string | null }>(sql`
    select m.user_id as user_id, min(i.subject) as oid, m.role as role, m.status as status, m.deactivated_reason as reason
    from memberships m
    cross join identities i on i.user_id = m.user_id and i.provider = 'microsoft' and i.issuer_key = ${tenantId}
    where m.organization_id = ${organizationId} and m.user_id > ${afterUserId}
    group by m.user_id
    order by m.user_id
    limit ${limit}`);
}
