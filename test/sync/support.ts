// Shared set-up for the directory sync suites: a clean demo world, members linked to directory
// users, a synthetic tenant to connect Contoso to, and runs started the way production starts them (the
// scheduled() handler or the page's buttons), then awaited until their Workflow has finished.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../../src/index.ts";
import { NIGHTLY_CRON, nightlyFanoutId, nightlyRunId } from "../../src/entra/sync/schedule.ts";
import type { NightlyOutput } from "../../src/nightly/workflow.ts";
import { createTokenVault } from "../../src/lib/vault.ts";
import { type TestBrowser } from "../support/browser.ts";
import { createDirectoryUser, emulatorAdmin } from "../support/emulator.ts";
import { resetDemoWorld } from "../support/world.ts";
import { ENTRA_PAGE, connectContoso } from "../support/entra.ts";
import { DEMO_ORGS, DEMO_USER_IDS, linkMember } from "../support/people.ts";

export const SYNC = `${ENTRA_PAGE}/sync`;
export const CONTOSO: string = DEMO_ORGS.contoso.id;

/** Demo data only: every test starts from the seeded world, everyone active, nothing connected. */
/**
 * The demo world, with Graph's change notifications held back: these suites test the nightly path
 * and Sync now, and a real-time read would otherwise act on their directory changes first.
 * test/notifications turns them on again (realtimeWorld).
 */
export async function resetWorld() {
  await resetDemoWorld();
  await emulatorAdmin("notifications", { drop: 1_000_000_000 });
}

/**
 * Fires the Cron Trigger through the Worker's real scheduled() handler, and waits until the
 * night's NightlyWorkflow instance has started every run and pruned; returns what it reported.
 */
export async function fireCron(scheduledTime: number, timeoutMs = 120_000): Promise<NightlyOutput> {
  const controller = createScheduledController({ scheduledTime, cron: NIGHTLY_CRON });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
  return nightFinished(scheduledTime, timeoutMs);
}

/** Waits for the night of `scheduledTime` to complete; fails on an errored night. */
export async function nightFinished(scheduledTime: number, timeoutMs = 120_000): Promise<NightlyOutput> {
  const instance = await env.NIGHTLY_WORKFLOW.get(nightlyFanoutId(scheduledTime));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await instance.status();
    if (status.status === "complete") return status.output as NightlyOutput;
    if (status.status === "errored" || status.status === "terminated")
      throw new Error(`night ${status.status}: ${JSON.stringify(status.error)}`);
    if (Date.now() > deadline) throw new Error(`night still ${status.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// The test files of a vitest worker share one workerd process, and Miniflare keeps Workflow
// instances across the reset before each file (test/support/fileIsolation.ts): each file's nights
// start 1,000 days after the last file's, so no two files ask for the same instance id. The count
// lives on globalThis, which outlasts the per-file module reset.
const FILES_SO_FAR = Symbol.for("uniasset.test.cronClockFiles");
const files = (globalThis as { [FILES_SO_FAR]?: number })[FILES_SO_FAR] ?? 0;
(globalThis as { [FILES_SO_FAR]?: number })[FILES_SO_FAR] = files + 1;
let cronClock = Date.UTC(2027, 0, 1, 2, 30) + files * 1000 * 24 * 3600 * 1000;
/** A fresh scheduled time per call, so each nightly run gets its own instance id. */
export function nextCronTime(): number {
  cronClock += 24 * 3600 * 1000;
  return cronClock;
}

export interface RunRow {
  id: string;
  trigger: string;
  mode: string | null;
  status: string;
  users_read: number;
  deactivated: number;
  reactivated: number;
  graph_requests: number;
  error: string | null;
  pending_changes: string | null;
}

/** Waits until the run's Workflow has closed its row, and returns the row. */
export async function waitForRun(runId: string, timeoutMs = 60_000): Promise<RunRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await env.DB.prepare("select * from sync_runs where id = ?").bind(runId).first<RunRow>();
    if (row && row.status !== "running") return row;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${row?.status ?? "missing"}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The nightly run for `organizationId`: fires the cron and waits for that organization's run. */
export async function nightlyRun(organizationId = CONTOSO): Promise<RunRow> {
  const at = nextCronTime();
  await fireCron(at);
  return waitForRun(nightlyRunId(organizationId, at));
}

export async function latestRunId(organizationId = CONTOSO): Promise<string> {
  const row = await env.DB.prepare("select id from sync_runs where organization_id = ? order by started_at desc limit 1")
    .bind(organizationId)
    .first<{ id: string }>();
  if (!row) throw new Error("no run");
  return row.id;
}

export async function membership(userId: string, organizationId = CONTOSO) {
  return env.DB.prepare(
    "select status, deactivated_reason, deactivated_by_run, role from memberships where organization_id = ? and user_id = ?",
  )
    .bind(organizationId, userId)
    .first<{ status: string; deactivated_reason: string | null; deactivated_by_run: string | null; role: string }>();
}

/** Six more disabled members: with Adele and Diego, 7 of 8 linked members would go (a held run). */
export async function massLeavers() {
  const leavers = [];
  for (let i = 1; i <= 6; i++) leavers.push(await linkMember(await createDirectoryUser(`Leaver ${i}`, { accountEnabled: false })));
  return leavers;
}

/** Adele connects Contoso and six more members leave: the nightly run is held. */
export async function heldRun() {
  const adele = await connectContoso(["auto-deprovision"]);
  const leavers = await massLeavers();
  const run = await nightlyRun();
  expect(run.status).toBe("held");
  return { adele, leavers, run };
}

export { DEMO_USER_IDS, DEMO_ORGS };

/** Polls the section until no run is going; returns its HTML. */
export async function sectionWhenIdle(browser: TestBrowser, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await browser.get(SYNC, { "hx-request": "true" });
    const html = await response.text();
    // The section polls (`every 1s` among its hx-trigger events) only while a run is going.
    if (!/hx-trigger="[^"]*\bevery 1s\b/.test(html)) return html;
    if (Date.now() > deadline) throw new Error("sync still running");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Connects Contoso (the organization) to a synthetic tenant of `users` users instead, through the
 * real handlers, and returns its users' object ids and whether each is enabled (read from Graph).
 */
export async function connectSyntheticTenant(users: number) {
  const tenant = await emulatorAdmin<{ tenantId: string; adminOid: string }>("synthetic-tenants", {
    users,
    disabledPercent: 1,
    consented: true,
    domain: "synthetic.example",
  });
  const adele = await connectContoso(["auto-deprovision"], { account: tenant.adminOid });
  return { adele, tenantId: tenant.tenantId, adminOid: tenant.adminOid };
}

/** Polls until `condition` holds (a run has reached some point), or fails the test. */
export async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every user of the connected tenant, read from the emulator's Graph with the stored token. */
export async function directoryUsers(tenantId: string): Promise<{ id: string; accountEnabled: boolean }[]> {
  const users: { id: string; accountEnabled: boolean }[] = [];
  await forEachDirectoryPage(tenantId, async (page) => void users.push(...page));
  return users;
}

/** The connected tenant's users a page at a time, so a 1M-user tenant is never held at once. */
export async function forEachDirectoryPage(tenantId: string, onPage: (users: { id: string; accountEnabled: boolean }[]) => Promise<void>) {
  const row = await env.DB.prepare("select access_token_enc from entra_connections where organization_id = ?")
    .bind(CONTOSO)
    .first<{ access_token_enc: string }>();
  const opened = await createTokenVault(env.TOKEN_ENCRYPTION_KEYS).open(row!.access_token_enc, {
    organizationId: CONTOSO,
    tenantId,
    field: "access_token",
  });
  if (!opened.ok) throw new Error("cannot open the access token");
  let next: string | undefined = "http://localhost:8788/v1.0/users?$select=id,accountEnabled&$top=999";
  while (next) {
    const response = await env.EMULATOR.fetch(next, { headers: { authorization: `Bearer ${opened.value}` } });
    const page = (await response.json()) as { value: { id: string; accountEnabled: boolean }[]; "@odata.nextLink"?: string };
    await onPage(page.value);
    next = page["@odata.nextLink"];
  }
  await emulatorAdmin("stats/reset");
}
