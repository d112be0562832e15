// Storage figures for docs/scale.md (printed, not asserted): bytes D1 keeps per organization, per
// member and per organization-year of nightly runs. Each figure is the database's size as D1
// reports it (`meta.size_after`: pages in use × page size, indexes and triggers' copies included)
// after adding many copies of real rows, minus the size before, divided by the copies. The rows
// are cloned from ones the app itself wrote for the demo world (Contoso's connection with its
// encrypted tokens and delta link, a nightly run and its audit event), so their shape is real.
import { env } from "cloudflare:test";
import { it } from "vitest";
import { DEMO_USER_IDS } from "../demo/seed.ts";
import { connectContoso } from "../test/support/entra.ts";
import { CONTOSO, nightlyRun, resetWorld } from "../test/sync/support.ts";

const ORGANIZATIONS = 10_000;
const MEMBERS = 100_000;
/** Organizations given a year of nightly runs (a run row and its audit event a night). */
const ORGANIZATIONS_WITH_A_YEAR = 1_000;
const NIGHTS = 365;

async function databaseBytes(): Promise<number> {
  const result = await env.DB.prepare("select 1").run();
  return Number((result.meta as { size_after?: number }).size_after ?? Number.NaN);
}

const numbers = "with recursive n(i) as (select ?1 union all select i + 1 from n where i < ?2)";

/** `count` copies of Contoso's organization and connection rows (other ids, other tenants). */
async function cloneOrganizations(count: number) {
  const orgId = "printf('0b000000-0000-4000-8000-%012x', i)";
  for (let from = 0; from < count; from += 5000) {
    const to = Math.min(from + 5000, count) - 1;
    await env.DB.batch([
      env.DB.prepare(`${numbers} insert into organizations (id, name, plan, created_at)
        select ${orgId}, name || ' ' || i, plan, created_at from n, organizations where id = ?3`).bind(from, to, CONTOSO),
      env.DB.prepare(`${numbers} insert into entra_connections (organization_id, status, tenant_id, tenant_name, verified_domains,
          default_domain, connected_by, connected_at, connected_by_roles, refresh_token_enc, access_token_enc, access_token_expires_at,
          delta_link_enc, auto_provision, auto_deprovision, group_role_mapping, default_role, hold_threshold_percent,
          hold_threshold_minimum, updated_at)
        select ${orgId}, status, printf('0c000000-0000-4000-8000-%012x', i), tenant_name, verified_domains, default_domain, connected_by,
          connected_at, connected_by_roles, refresh_token_enc, access_token_enc, access_token_expires_at, delta_link_enc,
          auto_provision, auto_deprovision, group_role_mapping, default_role, hold_threshold_percent, hold_threshold_minimum, updated_at
        from n, entra_connections where organization_id = ?3`).bind(from, to, CONTOSO),
      // Three group mappings an organization, as in the demo.
      env.DB.prepare(`${numbers}, g(j) as (values (1), (2), (3)) insert into group_role_mappings (organization_id, group_id, group_name, role, created_at)
        select ${orgId}, printf('0d000000-0000-4000-8000-%08x%04x', i, j), 'UniAsset Managers ' || j, 'manager', 1 from n, g`).bind(
        from,
        to,
      ),
    ]);
  }
}

/** A year of nightly runs for the first `count` clones: the real run row and its audit event, once a night. */
async function cloneYearOfRuns(count: number, runId: string) {
  const orgId = "printf('0b000000-0000-4000-8000-%012x', i)";
  for (let from = 0; from < count; from += 100) {
    const to = Math.min(from + 100, count) - 1;
    await env.DB.batch([
      env.DB.prepare(`${numbers}, night(d) as (select 0 union all select d + 1 from night where d < ${NIGHTS - 1})
        insert into sync_runs (id, organization_id, trigger, mode, status, started_at, finished_at, users_read, deactivated, reactivated, graph_requests)
        select printf('0e000000-%04x-4000-8000-%012x', d, i), ${orgId}, trigger, mode, status, started_at + d * 86400000,
          finished_at + d * 86400000, users_read, deactivated, reactivated, graph_requests
        from n, night, sync_runs where sync_runs.id = ?3`).bind(from, to, runId),
      env.DB.prepare(`${numbers}, night(d) as (select 0 union all select d + 1 from night where d < ${NIGHTS - 1})
        insert into audit_events (organization_id, actor_user_id, action, target_user_id, details, created_at)
        select ${orgId}, actor_user_id, action, target_user_id, replace(details, ?3, printf('0e000000-%04x-4000-8000-%012x', d, i)),
          created_at + d * 86400000
        from n, night, audit_events where organization_id = ?4 and action = 'sync.run_finished'`).bind(from, to, runId, CONTOSO),
    ]);
  }
}

/**
 * `count` members of Contoso cloned from Diego (a linked Microsoft member; active here, whatever the demo's run did to him): the user, the
 * identity, the membership (its name and email keys filled by the triggers) and the audit event
 * auto-provisioning writes.
 */
async function cloneMembers(count: number) {
  const userId = "printf('0f000000-0000-4000-8000-%012x', i)";
  const diego = DEMO_USER_IDS.diego;
  for (let from = 0; from < count; from += 25_000) {
    const to = Math.min(from + 25_000, count) - 1;
    await env.DB.batch([
      env.DB.prepare(`${numbers} insert into users (id, email, display_name, created_at, last_sign_in_at)
        select ${userId}, printf('person%d@', i) || substr(email, instr(email, '@') + 1), display_name || ' ' || i, created_at, created_at
        from n, users where id = ?3`).bind(from, to, diego),
      env.DB.prepare(`${numbers} insert into identities (provider, issuer_key, subject, user_id, email, created_at)
        select provider, issuer_key, printf('10000000-0000-4000-8000-%012x', i), ${userId}, printf('person%d@', i) || substr(email, instr(email, '@') + 1), created_at
        from n, identities where user_id = ?3 and provider = 'microsoft'`).bind(from, to, diego),
      env.DB.prepare(`${numbers} insert into memberships (organization_id, user_id, role, status, created_at)
        select organization_id, ${userId}, role, 'active', created_at from n, memberships where user_id = ?3 and organization_id = ?4`).bind(
        from,
        to,
        diego,
        CONTOSO,
      ),
      env.DB.prepare(`${numbers} insert into audit_events (organization_id, actor_user_id, action, target_user_id, details, created_at)
        select ?3, null, 'entra.user_provisioned', ${userId},
          json_object('role', 'member', 'upn', printf('person%d@contoso.example', i), 'rule', 'default'), 1 from n`).bind(
        from,
        to,
        CONTOSO,
      ),
    ]);
  }
}

it("storage per organization, per member and per year of runs", async () => {
  await resetWorld();
  // One real nightly run of Contoso: the run row and audit event the year is cloned from.
  await connectContoso(["auto-deprovision"]);
  const run = await nightlyRun(CONTOSO);
  if (run.status !== "succeeded") throw new Error(`the demo world's nightly run ended ${run.status}`);

  const empty = await databaseBytes();
  await cloneOrganizations(ORGANIZATIONS);
  const withOrganizations = await databaseBytes();
  await cloneYearOfRuns(ORGANIZATIONS_WITH_A_YEAR, run.id);
  const withRuns = await databaseBytes();
  await cloneMembers(MEMBERS);
  const withMembers = await databaseBytes();

  const line = {
    scenario: "storage",
    organizations: ORGANIZATIONS,
    members: MEMBERS,
    bytes_per_organization: Math.round((withOrganizations - empty) / ORGANIZATIONS),
    bytes_per_organization_year_of_runs: Math.round((withRuns - withOrganizations) / ORGANIZATIONS_WITH_A_YEAR),
    bytes_per_member: Math.round((withMembers - withRuns) / MEMBERS),
    database_bytes: withMembers,
  };
  console.log(`BENCH ${JSON.stringify(line)}`);
});
