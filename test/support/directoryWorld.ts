// A clean slate for the mapping editor and bulk import suites: the demo world as seeded, no
// connection, no mappings, no decisions, and no user beyond the seeded ones (imports create users).
import { env } from "cloudflare:test";
import { DEMO_ORGS, DEMO_USER_IDS } from "../../demo/seed.ts";
import { resetEmulator } from "./browser.ts";

const DEMO_USERS = Object.values(DEMO_USER_IDS);
const keep = `(${DEMO_USERS.map(() => "?").join(", ")})`;

export async function resetDirectoryWorld() {
  await resetEmulator();
  await env.DB.batch([
    env.DB.prepare("delete from entra_connections"),
    env.DB.prepare("delete from group_role_mappings"),
    env.DB.prepare("delete from role_decisions"),
    env.DB.prepare("delete from sessions"),
    env.DB.prepare("delete from audit_events"),
    env.DB.prepare("update invitations set accepted_at = null"),
    env.DB.prepare(`delete from memberships where user_id not in ${keep}`).bind(...DEMO_USERS),
    env.DB.prepare(`delete from identities where user_id not in ${keep}`).bind(...DEMO_USERS),
    env.DB.prepare(`delete from users where id not in ${keep}`).bind(...DEMO_USERS),
    env.DB.prepare("update memberships set role = 'owner', status = 'active', deactivated_reason = null, deactivated_at = null where user_id = ?").bind(DEMO_USER_IDS.adele),
    env.DB.prepare("update memberships set role = 'member', status = 'active', deactivated_reason = null, deactivated_at = null where user_id = ?").bind(DEMO_USER_IDS.diego),
    env.DB.prepare("update organizations set plan = 'team' where id = ?").bind(DEMO_ORGS.fabrikam.id),
  ]);
}

/** Audit events of one action in Contoso, details parsed. */
export async function contosoAudit(action: string) {
  const rows = await env.DB.prepare("select details from audit_events where organization_id = ? and action = ? order by id")
    .bind(DEMO_ORGS.contoso.id, action)
    .all<{ details: string }>();
  return rows.results.map((r) => JSON.parse(r.details) as Record<string, unknown>);
}
