// The nightly fan-out through the real scheduled() handler and NightlyWorkflow: every eligible
// organization gets exactly one run and one sync Workflow instance per night, however many there
// are, a night that failed halfway resumes without starting anyone twice, and the ineligible get
// nothing. The organizations are cheap rows (no tenant behind them), so each sync instance is told
// its connection is gone ("load connection" mocked) and closes its run at once.
import { env, introspectWorkflow, introspectWorkflowInstance } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { emptyD1Stats } from "../../src/lib/d1Stats.ts";
import { FANOUT_PAGE_SIZE, startSpacingMs } from "../../src/nightly/fanout.ts";
import { nightlyFanoutId, nightlyRunId, READ_NOW_EVENT } from "../../src/entra/sync/schedule.ts";
import { DEMO_ORGS, fireCron, nextCronTime, resetWorld } from "../sync/support.ts";

let introspector: Awaited<ReturnType<typeof introspectWorkflow>> | null = null;

const SLOW = 180_000;

beforeEach(async () => {
  await resetWorld();
  introspector = await introspectWorkflow(env.SYNC_WORKFLOW);
  await introspector.modifyAll(async (m) => {
    await m.disableSleeps();
    // Ends its wait for the start slot at once, as a change notification would (workflow.ts).
    await m.mockEvent({ type: READ_NOW_EVENT, payload: null });
    await m.mockStepResult({ name: "load connection" }, { value: { tenantId: null, deltaLinkEnc: null }, d1: emptyD1Stats() });
  });
}, SLOW);

afterEach(async () => {
  await introspector?.dispose();
  introspector = null;
}, SLOW);

/**
 * A night of three pages (FANOUT_PAGE_SIZE each, the last of one organization): the smallest that has
 * a page between two others. Each organization is a Workflow instance, the suite's costliest thing
 * to start (250 of them took about 5 s of CPU).
 */
const NIGHT = 2 * FANOUT_PAGE_SIZE + 1;

type Kind = "eligible" | "toggle_off" | "not_connected" | "team_plan";

/** `n` organizations of one kind, with a connection row (bulk SQL); returns their ids, sorted. */
async function organizations(n: number, kind: Kind): Promise<string[]> {
  const ids = Array.from({ length: n }, () => crypto.randomUUID()).sort();
  const rows = JSON.stringify(ids);
  await env.DB.batch([
    env.DB.prepare("insert into organizations (id, name, plan, created_at) select value, 'Org ' || value, ?, 1 from json_each(?)").bind(
      kind === "team_plan" ? "team" : "enterprise",
      rows,
    ),
    env.DB.prepare(
      "insert into entra_connections (organization_id, status, tenant_id, auto_deprovision, updated_at) select value, ?, lower(hex(randomblob(16))), ?, 1 from json_each(?)",
    ).bind(kind === "not_connected" ? "needs_reconnect" : "connected", kind === "toggle_off" ? 0 : 1, rows),
  ]);
  return ids;
}

async function runsOf(scheduledTime: number) {
  const { results } = await env.DB.prepare("select id, organization_id, status from sync_runs where id like ?")
    .bind(`nightly-%-${scheduledTime}`)
    .all<{ id: string; organization_id: string; status: string }>();
  return results;
}

/** Run ids whose Workflow instance ran: its failure ("not_connected") was recorded by the instance. */
async function runsStarted(): Promise<string[]> {
  const { results } = await env.DB.prepare("select id from sync_runs where error = 'not_connected' order by id").all<{ id: string }>();
  return results.map((r) => r.id);
}

async function untilClosed(count: number, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await env.DB.prepare("select count(*) as n from sync_runs where status != 'running'").first<{ n: number }>();
    if ((row?.n ?? 0) >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${row?.n} runs closed`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("the nightly fan-out", () => {
  it(
    `starts exactly one run for each of ${NIGHT} eligible organizations, and none for the ineligible`,
    async () => {
      const eligible = await organizations(NIGHT, "eligible");
      const ineligible = [
        ...(await organizations(5, "toggle_off")),
        ...(await organizations(5, "not_connected")),
        ...(await organizations(5, "team_plan")),
      ];
      const at = nextCronTime();
      const night = await fireCron(at);
      expect(night).toMatchObject({ organizations: NIGHT, started: NIGHT, alreadyStarted: 0, skipped: 0, failed: 0, pages: 3 });
      expect(night.maxStep.d1Statements).toBeLessThanOrEqual(10);
      expect(night.maxStep.subrequests).toBeLessThanOrEqual(10);

      const runs = await runsOf(at);
      expect(runs.map((r) => r.id).sort()).toEqual(eligible.map((id) => nightlyRunId(id, at)).sort());
      expect(runs.some((r) => ineligible.includes(r.organization_id))).toBe(false);
      await untilClosed(NIGHT);
      expect((await introspector!.get()).length).toBe(NIGHT);
      expect(await runsStarted()).toEqual(eligible.map((id) => nightlyRunId(id, at)).sort());

      // The same cron event again starts nothing more.
      await fireCron(at);
      expect(await runsOf(at)).toHaveLength(NIGHT);
      expect((await introspector!.get()).length).toBe(NIGHT);
    },
    SLOW,
  );

  it(
    "a night that failed halfway resumes where it stopped, and starts nobody twice",
    async () => {
      const eligible = await organizations(NIGHT, "eligible");
      const at = nextCronTime();
      // An earlier attempt got through its first page's rows and half its instances, then died.
      const firstPage = eligible.slice(0, FANOUT_PAGE_SIZE);
      await env.DB.prepare(
        "insert into sync_runs (id, organization_id, trigger, status, started_at) select json_extract(value, '$[0]'), json_extract(value, '$[1]'), 'schedule', 'running', ? from json_each(?)",
      )
        .bind(Date.now(), JSON.stringify(firstPage.map((id) => [nightlyRunId(id, at), id])))
        .run();
      await env.SYNC_WORKFLOW.createBatch({
        instances: firstPage.slice(0, 50).map((id) => ({
          id: nightlyRunId(id, at),
          params: { runId: nightlyRunId(id, at), organizationId: id, trigger: "schedule" as const },
        })),
      });
      // And this attempt's second page fails once (D1 or Workflows unavailable) before it succeeds.
      await using night = await introspectWorkflowInstance(env.NIGHTLY_WORKFLOW, nightlyFanoutId(at));
      await night.modify(async (m) => {
        await m.disableRetryDelays();
        await m.mockStepError({ name: "page 1" }, new Error("D1 is unavailable"), 1);
      });

      const output = await fireCron(at);
      // The 50 started before may have closed their runs already (nothing to start) or still be going
      // (refused as existing): either way none is started again.
      expect(output).toMatchObject({ organizations: NIGHT, failed: 0, skipped: 0, pages: 3 });
      expect(output.started + output.alreadyStarted).toBeLessThanOrEqual(NIGHT - 50);
      expect(output.started).toBeGreaterThanOrEqual(NIGHT - FANOUT_PAGE_SIZE);
      const runs = await runsOf(at);
      expect(runs.map((r) => r.organization_id).sort()).toEqual(eligible);
      await untilClosed(NIGHT);
      expect((await introspector!.get()).length).toBe(NIGHT);
      expect(await runsStarted()).toEqual(eligible.map((id) => nightlyRunId(id, at)).sort());
    },
    SLOW,
  );

  it(
    "records a skipped night for an organization with a run still going, as before",
    async () => {
      const [busy, free] = await organizations(2, "eligible");
      await env.DB.prepare(
        "insert into sync_runs (id, organization_id, trigger, status, started_at) values ('sync-now-1', ?, 'sync_now', 'running', ?)",
      )
        .bind(busy, Date.now() - 60_000)
        .run();
      const at = nextCronTime();
      const night = await fireCron(at);
      expect(night).toMatchObject({ organizations: 2, started: 1, skipped: 1 });
      expect(await env.DB.prepare("select status from sync_runs where id = ?").bind(nightlyRunId(busy!, at)).first()).toEqual({
        status: "skipped",
      });
      await untilClosed(2);
      expect(await runsStarted()).toEqual([nightlyRunId(free!, at)]);
    },
    SLOW,
  );

  it("spreads a large night over the window, and starts a small one at most a second apart", () => {
    expect(startSpacingMs(10_000, 120 * 60_000)).toBe(720);
    expect(startSpacingMs(50, 120 * 60_000)).toBe(1000);
    expect(startSpacingMs(1, 120 * 60_000)).toBe(0);
    expect(startSpacingMs(500, 0)).toBe(0);
  });
});

describe("nightly pruning", () => {
  const DAY = 24 * 3600 * 1000;
  const contoso = DEMO_ORGS.contoso.id;

  it("deletes old change lists, stale setup links and audit events past retention, and keeps what the page needs", async () => {
    const now = Date.now();
    const { results: people } = await env.DB.prepare("select user_id from memberships where organization_id = ?")
      .bind(contoso)
      .all<{ user_id: string }>();
    const run = (id: string, status: string, startedAt: number) =>
      env.DB.prepare("insert into sync_runs (id, organization_id, trigger, status, started_at) values (?, ?, 'sync_now', ?, ?)").bind(
        id,
        contoso,
        status,
        startedAt,
      );
    const change = (runId: string) =>
      people.map((p) =>
        env.DB.prepare(
          "insert into sync_run_changes (run_id, organization_id, user_id, change, cause) values (?, ?, ?, 'deactivate', 'disabled')",
        ).bind(runId, contoso, p.user_id),
      );
    await env.DB.batch([
      run("old-succeeded", "succeeded", now - 90 * DAY),
      ...change("old-succeeded"),
      run("old-held", "held", now - 80 * DAY),
      ...change("old-held"),
      run("old-preview", "previewed", now - 70 * DAY),
      ...change("old-preview"),
      run("recent-dismissed", "dismissed", now - 2 * DAY),
      ...change("recent-dismissed"),
      run("latest-preview", "previewed", now - DAY),
      ...change("latest-preview"),
    ]);
    // A preview older than the retention that is still the latest run elsewhere: Fabrikam's only run.
    await env.DB.batch([
      env.DB.prepare(
        "insert into sync_runs (id, organization_id, trigger, status, started_at) values ('fabrikam-preview', ?, 'preview', 'previewed', ?)",
      ).bind(DEMO_ORGS.fabrikam.id, now - 90 * DAY),
      env.DB.prepare(
        "insert into sync_run_changes (run_id, organization_id, user_id, change, cause) select 'fabrikam-preview', organization_id, user_id, 'deactivate', 'absent' from memberships where organization_id = ?",
      ).bind(DEMO_ORGS.fabrikam.id),
    ]);

    const adele = people[0]!.user_id;
    // A link is open until revoked or used, and an organization has at most one open (migrations/0019):
    // the stale one was revoked when a newer one was created.
    const link = (id: string, expiresAt: number, usedAt: number | null, revokedAt: number | null = null) =>
      env.DB.prepare(
        "insert into entra_setup_links (id, organization_id, token_hash, created_by, created_at, expires_at, used_at, revoked_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
      ).bind(id, contoso, `hash-${id}`, adele, expiresAt - 7 * DAY, expiresAt, usedAt, revokedAt);
    const audit = (createdAt: number) =>
      env.DB.prepare(
        "insert into audit_events (organization_id, action, details, created_at) values (?, 'entra.setting_changed', '{}', ?)",
      ).bind(contoso, createdAt);
    await env.DB.batch([
      link("stale", now - 40 * DAY, null, now - 2 * DAY),
      link("used-long-ago", now - 300 * DAY, now - 301 * DAY),
      link("open", now + 5 * DAY, null),
      audit(now - 500 * DAY),
      audit(now - 401 * DAY),
      audit(now - 399 * DAY),
      audit(now - DAY),
    ]);

    const night = await fireCron(nextCronTime());
    expect(night.pruned).toMatchObject({ setup_links: 1, audit_events: 2, sync_run_changes: 2 * people.length });

    const { results: kept } = await env.DB.prepare("select distinct run_id from sync_run_changes order by run_id").all<{
      run_id: string;
    }>();
    expect(kept.map((r) => r.run_id)).toEqual(["fabrikam-preview", "latest-preview", "old-held", "recent-dismissed"]);
    const { results: links } = await env.DB.prepare("select id from entra_setup_links order by id").all<{ id: string }>();
    expect(links.map((l) => l.id)).toEqual(["open", "used-long-ago"]);
    const { results: events } = await env.DB.prepare("select created_at from audit_events order by id").all<{ created_at: number }>();
    expect(events.map((e) => Math.round((now - e.created_at) / DAY))).toEqual([399, 1]);
    // Runs within the audit retention stay: the history still lists them.
    expect((await env.DB.prepare("select count(*) as n from sync_runs").first<{ n: number }>())?.n).toBe(6);
  });

  it("deletes runs past the audit retention (their change lists first), and keeps held ones and an organization's latest", async () => {
    const now = Date.now();
    const run = (id: string, organizationId: string, status: string, daysAgo: number) =>
      env.DB.prepare("insert into sync_runs (id, organization_id, trigger, status, started_at) values (?, ?, 'schedule', ?, ?)").bind(
        id,
        organizationId,
        status,
        now - daysAgo * DAY,
      );
    const fabrikam = DEMO_ORGS.fabrikam.id;
    const {
      results: [someone],
    } = await env.DB.prepare("select user_id from memberships where organization_id = ? limit 1").bind(contoso).all<{ user_id: string }>();
    await env.DB.batch([
      run("ancient-succeeded", contoso, "succeeded", 500),
      run("ancient-failed", contoso, "failed", 450),
      run("ancient-held", contoso, "held", 480),
      run("ancient-with-list", contoso, "dismissed", 470),
      env.DB.prepare(
        "insert into sync_run_changes (run_id, organization_id, user_id, change, cause) values ('ancient-with-list', ?, ?, 'deactivate', 'absent')",
      ).bind(contoso, someone!.user_id),
      run("within-retention", contoso, "succeeded", 399),
      run("recent", contoso, "succeeded", 1),
      // Fabrikam's only run, long ago: still its "last run".
      run("fabrikam-only", fabrikam, "succeeded", 600),
    ]);

    const night = await fireCron(nextCronTime());
    // The list of a run that is not held, not running and not a latest preview is older than 30 days: it goes first, then its run.
    expect(night.pruned).toMatchObject({ sync_run_changes: 1, sync_runs: 3 });
    const { results } = await env.DB.prepare(
      "select id from sync_runs where trigger = 'schedule' and id not like 'nightly-%' order by id",
    ).all<{ id: string }>();
    expect(results.map((r) => r.id)).toEqual(["ancient-held", "fabrikam-only", "recent", "within-retention"]);
  });
});
