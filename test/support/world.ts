// The one clean slate for suites that change the demo world: the emulator reset, and D1 back to
// the seeded demo data — no connection, mappings, decisions, runs, sessions, audit events, extra
// organizations, users, invitations or setup links; Adele Owner and Diego member of Contoso, both active.
import { env } from "cloudflare:test";
import { DEMO_INVITATION_ID, DEMO_ORGS, DEMO_USER_IDS } from "../../demo/seed.ts";
import { resetEmulator } from "./emulator.ts";

const DEMO_USERS = Object.values(DEMO_USER_IDS);
const DEMO_ORG_IDS = Object.values(DEMO_ORGS).map((org) => org.id);
const list = (values: readonly string[]) => `(${values.map(() => "?").join(", ")})`;

export async function resetDemoWorld() {
  await resetEmulator();
  const notDemoUser = `not in ${list(DEMO_USERS)}`;
  const notDemoOrg = `not in ${list(DEMO_ORG_IDS)}`;
  await env.DB.batch([
    // Children before parents: D1 enforces foreign keys.
    env.DB.prepare("delete from realtime_subscriptions"),
    // Movers (migrations/0022).
    env.DB.prepare("delete from run_role_changes"),
    env.DB.prepare("delete from member_profiles"),
    env.DB.prepare("delete from group_subscriptions"),
    env.DB.prepare("delete from group_delta_links"),
    env.DB.prepare("delete from scim_requests"),
    env.DB.prepare("delete from scim_deprovisions"),
    env.DB.prepare("delete from scim_group_roles"),
    env.DB.prepare("delete from scim_settings"),
    env.DB.prepare("delete from scim_group_members"),
    env.DB.prepare("delete from scim_groups"),
    env.DB.prepare("delete from scim_users"),
    env.DB.prepare("delete from scim_user_counts"),
    env.DB.prepare("delete from scim_tokens"),
    env.DB.prepare("delete from entra_connections"),
    env.DB.prepare("delete from sync_scope_domains"),
    env.DB.prepare("delete from sync_scope_groups"),
    env.DB.prepare("delete from sync_scopes"),
    env.DB.prepare("delete from sync_held_joiners"),
    // Imports (migrations/0026).
    env.DB.prepare("delete from directory_import_people"),
    env.DB.prepare("delete from directory_imports"),
    env.DB.prepare("delete from entra_setup_links"),
    env.DB.prepare("delete from group_role_mappings"),
    env.DB.prepare("delete from role_decisions"),
    env.DB.prepare("delete from sync_run_changes"),
    env.DB.prepare("delete from sync_run_seen"),
    env.DB.prepare("delete from sync_runs"),
    env.DB.prepare("delete from sessions"),
    env.DB.prepare("delete from used_flow_states"),
    env.DB.prepare("delete from audit_events"),
    env.DB.prepare("delete from webhook_attempts"),
    env.DB.prepare("delete from webhook_events"),
    env.DB.prepare("delete from webhook_endpoints"),
    env.DB.prepare("delete from webhook_manual_sends"),
    env.DB.prepare("delete from invitations where id != ?").bind(DEMO_INVITATION_ID),
    env.DB.prepare("update invitations set accepted_at = null, revoked_at = null"),
    // Only the seeded memberships stay: Adele and Diego in Contoso, Lee in Fabrikam, Nestor in Northwind.
    env.DB.prepare(
      "delete from memberships where not ((organization_id = ? and user_id in (?, ?)) or (organization_id = ? and user_id = ?) or (organization_id = ? and user_id = ?))",
    ).bind(
      DEMO_ORGS.contoso.id,
      DEMO_USER_IDS.adele,
      DEMO_USER_IDS.diego,
      DEMO_ORGS.fabrikam.id,
      DEMO_USER_IDS.lee,
      DEMO_ORGS.northwind.id,
      DEMO_USER_IDS.nestor,
    ),
    env.DB.prepare(`delete from identities where user_id ${notDemoUser}`).bind(...DEMO_USERS),
    env.DB.prepare(`delete from users where id ${notDemoUser}`).bind(...DEMO_USERS),
    env.DB.prepare(`delete from organizations where id ${notDemoOrg}`).bind(...DEMO_ORG_IDS),
    env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.contoso.id),
    env.DB.prepare("update organizations set plan = 'team' where id = ?").bind(DEMO_ORGS.fabrikam.id),
    env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.northwind.id),
    env.DB.prepare("update memberships set status = 'active', deactivated_reason = null, deactivated_at = null, deactivated_by_run = null"),
    env.DB.prepare("update memberships set role = 'owner' where user_id in (?, ?, ?)").bind(
      DEMO_USER_IDS.adele,
      DEMO_USER_IDS.lee,
      DEMO_USER_IDS.nestor,
    ),
    env.DB.prepare("update memberships set role = 'member' where user_id = ?").bind(DEMO_USER_IDS.diego),
  ]);
}

/** Audit events of one action in Contoso, details parsed. */
export async function contosoAudit(action: string) {
  const rows = await env.DB.prepare("select details from audit_events where organization_id = ? and action = ? order by id")
    .bind(DEMO_ORGS.contoso.id, action)
    .all<{ details: string }>();
  return rows.results.map((r) => JSON.parse(r.details) as Record<string, unknown>);
}
