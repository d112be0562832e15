// What the large-tenant benches share: a nightly run framed for the memory sampler, and linking a
// synthetic tenant's users to Contoso in bulk SQL (not measured). A synthetic tenant's user i has the object id
// `<prefix>-5e00-4000-8000-<i as 12 hex digits>` (emulator/src/synthetic.ts), so the rows are
// generated in D1 instead of read through Graph.
import { env, introspectWorkflowInstance } from "cloudflare:test";
import { nightlyRunId } from "../src/entra/sync/schedule.ts";
import type { SyncRunOutput } from "../src/entra/sync/workflow.ts";
import { emulatorAdmin } from "../test/support/emulator.ts";
import { CONTOSO, fireCron, nextCronTime } from "../test/sync/support.ts";

export interface LinkOptions {
  /** The role every member gets. */
  role?: "member" | "manager";
  /**
   * "directory": each member's name and email as the directory has them (members provisioned from
   * it, so a run renames nobody); "stale": `Synthetic i` and no email, so the first run renames
   * every member (the largest profile write a run can meet).
   */
  names?: "directory" | "stale";
  /** Leave out every `newEvery`-th user (i ≡ newEvery / 2 mod newEvery): people the directory has and Contoso does not yet. */
  newEvery?: number;
}

/** Every directory user (but those `newEvery` leaves out) becomes a linked, active member of Contoso. */
export async function linkEveryone(tenantId: string, prefix: string, users: number, options: LinkOptions = {}) {
  const numbers = "with recursive n(i) as (select ?1 union all select i + 1 from n where i < ?2)";
  const userId = "printf('00be0c00-0000-4000-8000-%012x', i)";
  const names =
    options.names === "directory"
      ? "case when i = 0 then 'Synthetic Admin' else 'Synthetic User ' || i end, 'user' || i || '@synthetic.example'"
      : "'Synthetic ' || i, null";
  const linked = options.newEvery ? `where i % ${options.newEvery} != ${Math.floor(options.newEvery / 2)}` : "";
  for (let from = 0; from < users; from += 50_000) {
    const to = Math.min(from + 50_000, users) - 1;
    await env.DB.batch([
      env.DB.prepare(
        `${numbers} insert into users (id, display_name, email, created_at) select ${userId}, ${names}, 1 from n ${linked}`,
      ).bind(from, to),
      env.DB.prepare(`${numbers} insert into identities (provider, issuer_key, subject, user_id, created_at)
        select 'microsoft', ?3, printf('%s-5e00-4000-8000-%012x', ?4, i), ${userId}, 1 from n ${linked}`).bind(from, to, tenantId, prefix),
      env.DB.prepare(`${numbers} insert into memberships (organization_id, user_id, role, status, created_at)
        select ?3, ${userId}, ?4, 'active', 1 from n ${linked}`).bind(from, to, CONTOSO, options.role ?? "member"),
    ]);
  }
}

/** A nightly run, awaited; with `rssLabel`, framed by the markers the memory sampler reads. */
export async function nightly(rssLabel?: string): Promise<{ output: SyncRunOutput; wallMs: number; runId: string }> {
  const at = nextCronTime();
  const instance = await introspectWorkflowInstance(env.SYNC_WORKFLOW, nightlyRunId(CONTOSO, at));
  // Date.now() is the time of the last I/O in workerd: read right after an await, it is current.
  await env.DB.prepare("select 1").first();
  if (rssLabel) console.log(`BENCH-RSS start ${rssLabel} ${Date.now()}`);
  const started = Date.now();
  await fireCron(at);
  await instance.waitForStatus("complete");
  const output = (await instance.getOutput()) as SyncRunOutput;
  const wallMs = Date.now() - started;
  if (rssLabel) console.log(`BENCH-RSS end ${rssLabel} ${Date.now()}`);
  await instance.dispose();
  return { output, wallMs, runId: nightlyRunId(CONTOSO, at) };
}

/** The emulator's synthetic tenant of `users` users (and `groups` groups) on synthetic.example, consented. */
export async function syntheticTenant(users: number, groups?: number) {
  return await emulatorAdmin<{ tenantId: string; adminOid: string; groupIds: string[] }>("synthetic-tenants", {
    users,
    ...(groups === undefined ? {} : { groups }),
    consented: true,
    domain: "synthetic.example",
  });
}
