// Shared set-up for the directory sync suites: a clean demo world, Contoso connected through the
// real handlers with Auto-deprovision on, and runs started the way production starts them (the
// scheduled() handler or the page's buttons), then awaited until their Workflow has finished.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../../src/index.ts";
import { NIGHTLY_CRON, nightlyRunId } from "../../src/entra/sync/schedule.ts";
import { createTokenVault } from "../../src/lib/vault.ts";
import { emulatorAdmin, type TestBrowser } from "../support/browser.ts";
import { resetDemoWorld } from "../support/world.ts";
import { ENTRA_PAGE, connectEntra } from "../support/entra.ts";
import { DEMO_ORGS, DEMO_USER_IDS, signedIn } from "../support/people.ts";

export const SYNC = `${ENTRA_PAGE}/sync`;
export const CONTOSO: string = DEMO_ORGS.contoso.id;

/** Demo data only: every test starts from the seeded world, everyone active, nothing connected. */
export const resetWorld = resetDemoWorld;

/** Adele connects Contoso and turns Auto-deprovision on; returns her browser. */
export async function connectContoso(): Promise<TestBrowser> {
  const adele = await signedIn("adele");
  const back = await connectEntra(adele);
  expect(back.headers.get("location")).toBe(ENTRA_PAGE);
  await adele.page(ENTRA_PAGE);
  const on = await adele.post(`${ENTRA_PAGE}/features/auto-deprovision`, { enabled: "true" }, { htmx: true });
  expect(on.status).toBe(200);
  await adele.page(SYNC);
  return adele;
}

/** Fires the Cron Trigger through the Worker's real scheduled() handler. */
export async function fireCron(scheduledTime: number) {
  const controller = createScheduledController({ scheduledTime, cron: NIGHTLY_CRON });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

let cronClock = Date.UTC(2027, 0, 1, 2, 30);
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
  const row = await env.DB.prepare("select id from sync_runs where organization_id = ? order by started_at desc limit 1").bind(organizationId).first<{ id: string }>();
  if (!row) throw new Error("no run");
  return row.id;
}

export async function membership(userId: string, organizationId = CONTOSO) {
  return env.DB.prepare("select status, deactivated_reason, deactivated_by_run, role from memberships where organization_id = ? and user_id = ?")
    .bind(organizationId, userId)
    .first<{ status: string; deactivated_reason: string | null; deactivated_by_run: string | null; role: string }>();
}

/** Adds an Entra user to Contoso's directory and links a UniAsset member to it. */
export async function addLinkedMember(
  name: string,
  options: { role?: string; accountEnabled?: boolean; tenantId?: string; organizationId?: string } = {},
) {
  const tenantId = options.tenantId ?? "7f1c6a7e-1b2c-4d3e-8f90-a1b2c3d4e5f6";
  const upn = `${name}@contoso.example`;
  const created = await emulatorAdmin("users", { tenantId, displayName: name, userPrincipalName: upn, mail: upn, accountEnabled: options.accountEnabled ?? true });
  const { oid } = (await created.json()) as { oid: string };
  const userId = crypto.randomUUID();
  await env.DB.batch([
    env.DB.prepare("insert into users (id, email, display_name, created_at) values (?, ?, ?, 1)").bind(userId, upn, name),
    env.DB.prepare("insert into identities (provider, issuer_key, subject, user_id, created_at) values ('microsoft', ?, ?, ?, 1)").bind(tenantId, oid, userId),
    env.DB.prepare("insert into memberships (organization_id, user_id, role, status, created_at) values (?, ?, ?, 'active', 1)")
      .bind(options.organizationId ?? CONTOSO, userId, options.role ?? "member"),
  ]);
  return { userId, oid };
}

/** Six more disabled members: with Adele and Diego, 7 of 8 linked members would go (a held run). */
export async function massLeavers() {
  const leavers = [];
  for (let i = 1; i <= 6; i++) leavers.push(await addLinkedMember(`Leaver ${i}`, { accountEnabled: false }));
  return leavers;
}

export { DEMO_USER_IDS, DEMO_ORGS, emulatorAdmin };

/** Polls the section until no run is going; returns its HTML. */
export async function sectionWhenIdle(browser: TestBrowser, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await browser.get(SYNC, { "hx-request": "true" });
    const html = await response.text();
    if (!html.includes('hx-trigger="every 1s"')) return html;
    if (Date.now() > deadline) throw new Error("sync still running");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Connects Contoso (the organization) to a synthetic tenant of `users` users instead, through the
 * real handlers, and returns its users' object ids and whether each is enabled (read from Graph).
 */
export async function connectSyntheticTenant(users: number) {
  const created = await emulatorAdmin("synthetic-tenants", { users, disabledPercent: 1, consented: true, domain: "synthetic.example" });
  const tenant = (await created.json()) as { tenantId: string; adminOid: string };
  const adele = await signedIn("adele");
  const back = await connectEntra(adele, { account: tenant.adminOid });
  expect(back.headers.get("location")).toBe(ENTRA_PAGE);
  await adele.page(ENTRA_PAGE);
  await adele.post(`${ENTRA_PAGE}/features/auto-deprovision`, { enabled: "true" }, { htmx: true });
  return { adele, tenantId: tenant.tenantId, adminOid: tenant.adminOid };
}

/**
 * Links a new UniAsset member of Contoso to an existing Entra object id. `createdAt` is when the
 * identity and membership were made: long ago by default, "now" for someone who joins mid-run.
 */
export async function linkMember(tenantId: string, oid: string, role = "member", createdAt = 1) {
  const userId = crypto.randomUUID();
  await env.DB.batch([
    env.DB.prepare("insert into users (id, email, display_name, created_at) values (?, null, ?, ?)").bind(userId, `Linked ${oid.slice(0, 8)}`, createdAt),
    env.DB.prepare("insert into identities (provider, issuer_key, subject, user_id, created_at) values ('microsoft', ?, ?, ?, ?)").bind(tenantId, oid, userId, createdAt),
    env.DB.prepare("insert into memberships (organization_id, user_id, role, status, created_at) values (?, ?, ?, 'active', ?)").bind(CONTOSO, userId, role, createdAt),
  ]);
  return userId;
}

/** Requests the emulator has answered per endpoint since its last stats reset. */
export async function emulatorRequests(): Promise<Record<string, number>> {
  return ((await (await emulatorAdmin("stats", undefined, "GET")).json()) as { requests: Record<string, number> }).requests;
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
  const row = await env.DB.prepare("select access_token_enc from entra_connections where organization_id = ?").bind(CONTOSO).first<{ access_token_enc: string }>();
  const opened = await createTokenVault(env.TOKEN_ENCRYPTION_KEYS).open(row!.access_token_enc, { organizationId: CONTOSO, tenantId, field: "access_token" });
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
