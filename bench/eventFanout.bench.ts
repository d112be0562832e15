// Event webhooks at scale (printed, not asserted): a nightly run deactivates 10,000 members at
// once, with one endpoint subscribed to member.deactivated. The members are linked to a small
// synthetic tenant under object ids the directory does not have, so a complete listing proves them
// absent. The run goes through the real scheduled() handler and Workflow; its outbox rows are
// written by one INSERT … SELECT per chunk in the batches that deactivate (src/db/outbox.ts),
// and its relay step puts them on the deliveries queue, paced per endpoint (src/events/relay.ts).
// d1_round_trips is the whole run's (the relay step included); the same run without any endpoint
// is measured first, for comparison. delivery_requests is what the queue will deliver: one request
// per event and endpoint. delivered_first_10s shows the pacing: what the receiver got in the first
// 10 seconds after the run, instead of 10,000 in one burst.
import { env } from "cloudflare:test";
import { it } from "vitest";
import { nightly } from "./support.ts";
import { createDb } from "../src/db/client.ts";
import { tokenVault } from "../src/lib/vault.ts";
import { addEndpoint } from "../src/events/endpoints.ts";
import { DEMO_USER_IDS } from "../demo/seed.ts";
import { CONTOSO, connectSyntheticTenant, resetWorld } from "../test/sync/support.ts";
import { forgetReceiver, received, receiverUrl } from "../test/events/support.ts";

const LEAVERS = 10_000;

/** 10,000 active members linked to `tenantId` under object ids it does not have. */
async function linkLeavers(tenantId: string) {
  const numbers = "with recursive n(i) as (select 1 union all select i + 1 from n where i < ?1)";
  const userId = "printf('00fa0c00-0000-4000-8000-%012x', i)";
  await env.DB.batch([
    env.DB.prepare(
      `${numbers} insert into users (id, email, display_name, created_at) select ${userId}, printf('leaver%d@synthetic.example', i), 'Leaver ' || i, 1 from n`,
    ).bind(LEAVERS),
    env.DB.prepare(`${numbers} insert into identities (provider, issuer_key, subject, user_id, created_at)
      select 'microsoft', ?2, printf('0ff0a000-0000-4000-8000-%012x', i), ${userId}, 1 from n`).bind(LEAVERS, tenantId),
    env.DB.prepare(
      `${numbers} insert into memberships (organization_id, user_id, role, status, created_at) select ?2, ${userId}, 'member', 'active', 1 from n`,
    ).bind(LEAVERS, CONTOSO),
    // Nobody is held: the bench measures a run that goes through.
    env.DB.prepare(
      "update entra_connections set hold_threshold_percent = 100, hold_threshold_minimum = 1000000 where organization_id = ?",
    ).bind(CONTOSO),
  ]);
}

async function rewind() {
  await env.DB.batch([
    env.DB.prepare(
      "update memberships set status = 'active', deactivated_reason = null, deactivated_at = null, deactivated_by_run = null where organization_id = ? and status = 'deactivated'",
    ).bind(CONTOSO),
    env.DB.prepare("update entra_connections set delta_link_enc = null where organization_id = ?").bind(CONTOSO),
    env.DB.prepare("delete from sync_runs"),
    env.DB.prepare("delete from webhook_events"),
  ]);
}

const count = async (sql: string) => (await env.DB.prepare(sql).first<{ n: number }>())?.n ?? 0;

it(`event_fanout ${LEAVERS}`, async () => {
  await resetWorld();
  await forgetReceiver("bench");
  const { tenantId } = await connectSyntheticTenant(10);
  await linkLeavers(tenantId);

  const without = await nightly();
  await rewind();

  const adele = {
    userId: DEMO_USER_IDS.adele,
    displayName: "Adele Vance",
    email: null,
    organizationId: CONTOSO,
    organizationName: "Contoso",
    plan: "enterprise" as const,
    role: "owner" as const,
    organizations: [],
    sessionHash: "bench",
    csrfToken: "bench",
  };
  const added = await addEndpoint(
    createDb(env.DB),
    tokenVault(env),
    adele,
    {
      url: receiverUrl("bench"),
      eventTypes: ["member.deactivated"],
      appOrigin: env.APP_ORIGIN,
      formToken: crypto.randomUUID(),
    },
    Date.now(),
  );
  if (!added.added) throw new Error("a fresh form token added nothing");
  const { endpointId } = added;
  const run = await nightly();
  const afterRun = Date.now();
  const events = await count("select count(*) as n from webhook_events where type = 'member.deactivated'");
  const relayed = await count("select count(*) as n from webhook_events where relayed_at is not null");
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const deliveredFirst10s = (await received("bench")).length;
  // The rest would arrive over the next minutes; deleting the endpoint lets the queue drop them.
  await env.DB.prepare("delete from webhook_endpoints where id = ?").bind(endpointId).run();

  const line = {
    scenario: "event_fanout",
    members_deactivated: run.output.deactivated,
    events,
    events_relayed: relayed,
    delivery_requests: relayed, // one endpoint: one request per event (more only on retries)
    d1_round_trips: run.output.d1.roundTrips,
    d1_round_trips_without_endpoints: without.output.d1.roundTrips,
    d1_rows_written: run.output.d1.rowsWritten,
    d1_rows_written_without_endpoints: without.output.d1.rowsWritten,
    delivered_first_10s: deliveredFirst10s,
    wall_ms: run.wallMs,
    wall_ms_without_endpoints: without.wallMs,
    status: run.output.status,
    after_run_ms: Date.now() - afterRun,
  };
  console.log(`BENCH ${JSON.stringify(line)}`);
});
