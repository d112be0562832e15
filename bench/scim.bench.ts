// SCIM provisioning at scale (printed, not asserted), each request through the Worker's fetch with
// its own counting D1:
// - scim_provision: 10,000 Users pushed by POST, 20 at a time, as an identity provider's first
//   cycle does; the most D1 round trips any one request took (the budget is two), p50 and p99.
// - scim_filter: `userName eq …` among 100,000 SCIM Users (and another organization's 20,000):
//   rows read by the request's read batch and by the whole request (the write batch logs it).
// - scim_group_patch: one PATCH adding 10,000 members to a Group: its round trips and statements.
// The per-token rate limit is Cloudflare's binding; here it is one that always admits, so the
// figures are D1's, not the limiter's (a real provider is held to SCIM_LIMITER's rate).
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { it } from "vitest";
import app from "../src/index.ts";
import { sha256Base64url } from "../src/lib/crypto.ts";
import { countingD1, emptyD1Stats, type D1Stats } from "../src/lib/d1Stats.ts";
import { addSyntheticMembers } from "../test/support/members.ts";
import { DEMO_ORGS } from "../test/support/people.ts";
import { resetDemoWorld } from "../test/support/world.ts";

const CONTOSO = DEMO_ORGS.contoso.id;
const USER = "urn:ietf:params:scim:schemas:core:2.0:User";
const admitAll = { limit: async () => ({ success: true }) };

async function makeToken(organizationId: string): Promise<string> {
  const id = crypto.randomUUID().replaceAll("-", "");
  const token = `scim_${id}_${"d".repeat(11)}${crypto.randomUUID().replaceAll("-", "")}`;
  await env.DB.prepare("insert into scim_tokens (id, organization_id, token_hash, created_at) values (?, ?, ?, 1)")
    .bind(id, organizationId, await sha256Base64url(token))
    .run();
  return token;
}

async function send(
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; stats: D1Stats; batches: D1Stats[]; ms: number }> {
  const stats = emptyD1Stats();
  const batches: D1Stats[] = [];
  const db = countingD1(env.DB, stats);
  // Per-batch figures: the read batch is the first, the write batch the second.
  const perBatch = new Proxy(db, {
    get(target, key) {
      if (key !== "withSession") return Reflect.get(target, key);
      return (constraint?: string) => {
        const session = target.withSession(constraint);
        return {
          ...session,
          getBookmark: () => session.getBookmark(),
          prepare: session.prepare.bind(session),
          batch: async (statements: D1PreparedStatement[]) => {
            const before = { ...stats };
            const results = await session.batch(statements);
            batches.push({
              roundTrips: 1,
              statements: stats.statements - before.statements,
              rowsRead: stats.rowsRead - before.rowsRead,
              rowsWritten: stats.rowsWritten - before.rowsWritten,
            });
            return results;
          },
        };
      };
    },
  });
  const ctx = createExecutionContext();
  const started = performance.now();
  const response = await app.fetch(
    new Request(`http://localhost:8787/scim/v2/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
    { ...env, DB: perBatch, SCIM_LIMITER: admitAll, WEBHOOK_DELIVERIES: undefined } as never,
    ctx,
  );
  await response.arrayBuffer();
  const ms = performance.now() - started;
  await waitOnExecutionContext(ctx);
  return { status: response.status, stats, batches, ms };
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? 0;
const round = (ms: number) => Math.round(ms * 10) / 10;

it("scim_provision: 10,000 Users, 20 at a time", async () => {
  await resetDemoWorld();
  const token = await makeToken(CONTOSO);
  const USERS = 10_000;
  const CONCURRENCY = 20;
  const walls: number[] = [];
  let maxRoundTrips = 0;
  let failed = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < USERS) {
        const i = next++;
        const reply = await send(token, "POST", "Users", {
          schemas: [USER],
          userName: `pushed.${i}@contoso.example`,
          externalId: `ext-${i}`,
          active: true,
          name: { givenName: "Pushed", familyName: String(i) },
          emails: [{ value: `pushed.${i}@contoso.example`, type: "work", primary: true }],
        });
        if (reply.status !== 201) failed++;
        walls.push(reply.ms);
        maxRoundTrips = Math.max(maxRoundTrips, reply.stats.roundTrips);
      }
    }),
  );
  console.log(
    `BENCH ${JSON.stringify({
      scenario: "scim_provision",
      users: USERS,
      concurrency: CONCURRENCY,
      requests: walls.length,
      failed,
      d1_round_trips_per_request_max: maxRoundTrips,
      p50_ms: round(percentile(walls, 0.5)),
      p99_ms: round(percentile(walls, 0.99)),
    })}`,
  );
});

it("scim_filter and scim_group_patch at 100,000 members", async () => {
  await resetDemoWorld();
  await addSyntheticMembers(DEMO_ORGS.fabrikam.id, 20_000, { batch: 2, domain: "fabrikam.example" });
  await addSyntheticMembers(CONTOSO, 100_000, { batch: 1, domain: "contoso.example" });
  // Every synthetic member as a SCIM User, as a first provisioning cycle would leave them.
  await env.DB.prepare(`insert into scim_users (organization_id, user_id, user_name, user_name_key, external_id, active, owns_user, resource, created_at, updated_at)
    select m.organization_id, u.id, u.email, lower(u.email), u.id, m.status = 'active', 1, json_object('userName', u.email), 1, 1
    from memberships m join users u on u.id = m.user_id where u.email like '%.example' and u.id like '0000000%'`).run();
  const token = await makeToken(CONTOSO);
  const filter = 'userName eq "Emma.Evans.4444@contoso.example"';
  const found = await send(token, "GET", `Users?filter=${encodeURIComponent(filter)}`);
  console.log(
    `BENCH ${JSON.stringify({
      scenario: "scim_filter",
      members: 100_000,
      filter: `userName eq …`,
      status: found.status,
      d1_rows_read: found.batches[0]?.rowsRead ?? null,
      request_d1_rows_read: found.stats.rowsRead,
      d1_round_trips: found.stats.roundTrips,
    })}`,
  );

  const group = await send(token, "POST", "Groups", { displayName: "Everyone", members: [] });
  const groupId = (await env.DB.prepare("select id from scim_groups where organization_id = ?").bind(CONTOSO).first<string>("id"))!;
  const ids = (
    await env.DB.prepare("select user_id from scim_users where organization_id = ? order by user_id limit 10000")
      .bind(CONTOSO)
      .all<{ user_id: string }>()
  ).results.map((row) => row.user_id);
  const patch = await send(token, "PATCH", `Groups/${groupId}`, {
    schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    Operations: [{ op: "add", path: "members", value: ids.map((value) => ({ value })) }],
  });
  const members = await env.DB.prepare("select count(*) as n from scim_group_members where group_id = ?").bind(groupId).first<number>("n");
  console.log(
    `BENCH ${JSON.stringify({
      scenario: "scim_group_patch",
      members_added: members,
      status: patch.status,
      group_created: group.status,
      d1_round_trips: patch.stats.roundTrips,
      d1_statements: patch.stats.statements,
      wall_ms: round(patch.ms),
    })}`,
  );
});
