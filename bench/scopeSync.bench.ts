// The sync scope in a run at scale (issue 20), printed, not asserted: a 1M-user synthetic tenant,
// every user a linked member, whose users are spread over 10 groups (user i in group i % 10), so a
// group scope of one group is 100,000 people. After a full run has stored the delta link, the scope
// is set to that group and a nightly run measured: its delta read (nothing changed), the scope read
// (each page of the group's transitive members, 999 a page) and the judging of 1M linked members.
// Graph's documented minimum for reading the scope is ceil(100,000 / 999) = 101 pages
// (https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers: $top up to 999).
// 900,000 members outside the scope are far past the hold threshold: the run is held with its list
// (sync_run_changes, one row each), as a mass deactivation is, and changes nobody.
import { env } from "cloudflare:test";
import { it } from "vitest";
import { linkEveryone, nightly, syntheticTenant } from "./support.ts";
import { connectContoso } from "../test/support/entra.ts";
import { CONTOSO, resetWorld } from "../test/sync/support.ts";

const USERS = 1_000_000;
const GROUPS = 10;

it(`scope_sync at ${USERS}`, { timeout: 900_000 }, async () => {
  await resetWorld();
  const tenant = await syntheticTenant(USERS, GROUPS);
  await connectContoso(["auto-deprovision"], { account: tenant.adminOid });
  await linkEveryone(tenant.tenantId, tenant.adminOid.slice(0, 8), USERS, { names: "directory" });
  const first = await nightly();
  console.log(`first full run: ${first.output.status}, ${first.wallMs} ms`);

  const group = tenant.groupIds[1]!;
  await env.DB.batch([
    env.DB.prepare("insert or replace into sync_scopes (organization_id, mode, updated_at) values (?, 'groups', 1)").bind(CONTOSO),
    env.DB.prepare("insert into sync_scope_groups (organization_id, group_id, display_name) values (?, ?, 'Group 1')").bind(CONTOSO, group),
  ]);
  const scoped = await nightly();
  const held = await env.DB.prepare("select pending_changes from sync_runs where organization_id = ? and status = 'held'")
    .bind(CONTOSO)
    .first<{ pending_changes: string }>();
  const members = USERS / GROUPS;
  const line = {
    scenario: "scope_sync",
    users: USERS,
    scope_group_members: members,
    graph_requests: scoped.output.graphRequests,
    // The delta read (one request, nothing changed) and the scope's pages.
    scope_documented_minimum: 1 + Math.ceil(members / 999),
    d1_round_trips: scoped.output.d1.roundTrips,
    d1_rows_read: scoped.output.d1.rowsRead,
    d1_rows_written: scoped.output.d1.rowsWritten,
    wall_ms: scoped.wallMs,
    status: scoped.output.status,
    would_deactivate: held ? (JSON.parse(held.pending_changes) as { deactivate: number }).deactivate : 0,
    max_d1_queries_per_invocation: scoped.output.maxD1StatementsPerStep,
  };
  console.log(`BENCH ${JSON.stringify(line)}`);
});
