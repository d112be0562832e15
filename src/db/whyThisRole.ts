// "Why this role" kept current for members whose role a mapping edit did not change (issue 19): a
// member whose deciding group changed (a group added above theirs with the same role, a mapped
// group removed while another gives the same role) or whose rule changed (the default role now
// equals their group's) keeps the role, and their decision row would name a group that no longer
// decides. One statement for a slice, however many (one bound JSON parameter).
import { sql } from "drizzle-orm";
import type { MappableRole } from "./schema.ts";

export interface RefreshedDecision {
  userId: string;
  role: MappableRole;
  rule: "group" | "default";
  matchedGroups: { id: string; name: string; role: MappableRole }[];
  decidingGroup: { id: string; name: string } | null;
}

export function refreshRoleDecisions(organizationId: string, decisions: RefreshedDecision[], now: number) {
  const rows = decisions.map((d) => [
    d.userId,
    d.role,
    d.rule,
    JSON.stringify(d.matchedGroups),
    d.decidingGroup ? JSON.stringify(d.decidingGroup) : null,
  ]);
  return sql`insert into role_decisions (organization_id, user_id, role, rule, matched_groups, deciding_group, graph_read_at, decided_at)
    select ${organizationId}, x.value ->> 0, x.value ->> 1, x.value ->> 2, x.value ->> 3, x.value ->> 4, ${now}, ${now}
    from json_each(${JSON.stringify(rows)}) x
    where true -- SQLite needs a WHERE between INSERT … SELECT and its upsert clause
    on conflict (organization_id, user_id) do update set role = excluded.role, rule = excluded.rule,
      matched_groups = excluded.matched_groups, deciding_group = excluded.deciding_group,
      graph_read_at = excluded.graph_read_at, decided_at = excluded.decided_at`;
}
