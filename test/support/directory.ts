// Contoso's group → role mappings as test data, and the role they gave someone.
import { env } from "cloudflare:test";
import { DEMO_ORGS } from "../../demo/seed.ts";
import type { MappableRole } from "../../src/db/schema.ts";

/** Test data: a mapping row, as the mapping editor stores it. */
export async function mapGroup(groupId: string, groupName: string, role: MappableRole) {
  await env.DB.prepare(
    "insert or replace into group_role_mappings (organization_id, group_id, group_name, role, created_at) values (?, ?, ?, ?, 1)",
  )
    .bind(DEMO_ORGS.contoso.id, groupId, groupName, role)
    .run();
}

export async function contosoRoleOf(oid: string) {
  return env.DB.prepare(
    "select m.role, m.status from memberships m join identities i on i.user_id = m.user_id where i.subject = ? and m.organization_id = ?",
  )
    .bind(oid, DEMO_ORGS.contoso.id)
    .first<{ role: string; status: string }>();
}
