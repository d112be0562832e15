// A held run is a person's decision: it can be applied only on the connected tenant with
// Auto-deprovision on, exactly once; later runs wait behind it, and it ends without a person only
// when a later read finds everyone on it enabled again (issue 18). Dismissing it makes the next
// run read everyone again.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { nightlyRunId } from "../../src/entra/sync/schedule.ts";
import { entraUser } from "../../demo/directory.ts";
import { SYNC_FAILURES } from "../../views/parts/syncFailures.ts";
import { ENTRA_PAGE, connectContoso, connectEntra } from "../support/entra.ts";
import { createDirectoryUser, emulatorAdmin, emulatorStats } from "../support/emulator.ts";
import { linkMember } from "../support/people.ts";
import {
  CONTOSO,
  DEMO_USER_IDS,
  SYNC,
  fireCron,
  heldRun,
  latestRunId,
  massLeavers,
  membership,
  nextCronTime,
  nightlyRun,
  resetWorld,
  sectionWhenIdle,
  until,
  waitForRun,
} from "./support.ts";

beforeEach(resetWorld);

const runRow = (id: string) =>
  env.DB.prepare("select status, error, deactivated from sync_runs where id = ?")
    .bind(id)
    .first<{ status: string; error: string | null; deactivated: number }>();
const actions = async () =>
  (
    await env.DB.prepare("select action, details from audit_events where organization_id = ? order by id")
      .bind(CONTOSO)
      .all<{ action: string; details: string }>()
  ).results;
const pending = async () =>
  (
    await env.DB.prepare("select reread_pending as n from realtime_subscriptions where organization_id = ?")
      .bind(CONTOSO)
      .first<{ n: number }>()
  )?.n;
const running = async () =>
  (
    await env.DB.prepare("select count(*) as n from sync_runs where organization_id = ? and status = 'running'")
      .bind(CONTOSO)
      .first<{ n: number }>()
  )?.n;
const deltaLink = async () =>
  (
    await env.DB.prepare("select delta_link_enc from entra_connections where organization_id = ?")
      .bind(CONTOSO)
      .first<{ delta_link_enc: string | null }>()
  )?.delta_link_enc;

describe("Apply", () => {
  it("against a concurrent Dismiss: one of them wins, and a dismissed run has changed nobody", async () => {
    const { adele, leavers, run } = await heldRun();

    const [applied, dismissed] = await Promise.all([
      adele.post(`${SYNC}/runs/${run.id}/apply`, {}, { htmx: true }),
      adele.post(`${SYNC}/runs/${run.id}/dismiss`, {}, { htmx: true }),
    ]);
    expect([applied.status, dismissed.status].sort()).toEqual([200, 409]);
    const after = await runRow(run.id);
    const log = (await actions()).map((e) => e.action);
    if (after?.status === "dismissed") {
      for (const leaver of leavers) expect((await membership(leaver.userId))?.status).toBe("active");
      expect(log).not.toContain("member.deactivated");
      expect(log).not.toContain("sync.held_applied");
    } else {
      expect(after).toMatchObject({ status: "applied", deactivated: 7 });
      expect(log).toContain("sync.held_applied");
      expect(log).not.toContain("sync.held_dismissed");
    }
  });

  it("is refused while Auto-deprovision is off, and once the connection is to another tenant", { timeout: 30_000 }, async () => {
    const { adele, leavers, run } = await heldRun();

    await adele.post(`${ENTRA_PAGE}/features/auto-deprovision`, { enabled: "false" }, { htmx: true });
    const off = await adele.post(`${SYNC}/runs/${run.id}/apply`, {}, { htmx: true });
    expect(off.status).toBe(409);
    expect(await off.text()).toContain("Auto-deprovision");
    expect((await runRow(run.id))?.status).toBe("held");

    // Adele connects UniAsset to another tenant (its admin signs in), and turns the sync on again.
    const other = await emulatorAdmin<{ adminOid: string }>("synthetic-tenants", {
      users: 20,
      disabledPercent: 0,
      consented: true,
      domain: "elsewhere.example",
    });
    expect((await connectEntra(adele, { account: other.adminOid })).headers.get("location")).toBe(ENTRA_PAGE);
    await adele.page(ENTRA_PAGE);
    expect((await adele.post(`${ENTRA_PAGE}/features/auto-deprovision`, { enabled: "true" }, { htmx: true })).status).toBe(200);
    const moved = await adele.post(`${SYNC}/runs/${run.id}/apply`, {}, { htmx: true });
    expect(moved.status).toBe(409);
    expect(await moved.text()).toContain("another tenant");

    expect((await runRow(run.id))?.status).toBe("held");
    for (const leaver of leavers) expect((await membership(leaver.userId))?.status).toBe("active");
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("active");
    expect((await actions()).map((e) => e.action)).not.toContain("member.deactivated");
  });
});

describe("later runs wait behind a held run", () => {
  it("a later run changes nobody, not even a new leaver, and does not replace it; after Apply, one read does what it found", {
    timeout: 60_000,
  }, async () => {
    const { adele, leavers, run: held } = await heldRun();
    const newcomer = await linkMember(await createDirectoryUser("Late Leaver"));
    await emulatorAdmin(`users/${newcomer.subject}/disable`);

    const waited = await nightlyRun();
    expect(waited).toMatchObject({ status: "skipped", mode: "delta", error: "held_run_pending", deactivated: 0 });
    expect(JSON.parse(waited.pending_changes!)).toMatchObject({ deactivate: 1 });
    expect(await runRow(held.id)).toMatchObject({ status: "held" });
    expect((await membership(newcomer.userId))?.status).toBe("active");
    // Waiting stores no delta link: the held run's link stands, so what waited is read again.
    const link = await deltaLink();
    expect(link).not.toBeNull();
    expect(await pending()).toBe(1);

    const html = await sectionWhenIdle(adele);
    expect(html).toContain("Held: nothing was changed.");
    expect(html).toContain("later reads (real-time updates, the nightly run, Sync now) wait");
    expect(html).toMatch(/found 1 more\s+member who may have left/);
    expect(html).toContain(SYNC_FAILURES.held_run_pending);

    expect((await adele.post(`${SYNC}/runs/${held.id}/apply`, {}, { htmx: true })).status).toBe(200);
    for (const leaver of leavers) expect((await membership(leaver.userId))?.status).toBe("deactivated");
    // Apply started the read the waiting run asked for: it deactivates the newcomer, from the held run's link.
    await until(async () => (await membership(newcomer.userId))?.status === "deactivated");
    await until(async () => (await pending()) === 0 && (await running()) === 0);
  });

  it("accounts enabled again: a later read finds nobody left on it, so it ends by itself and changes nobody", {
    timeout: 60_000,
  }, async () => {
    const { adele, leavers, run: held } = await heldRun();
    // IT re-enables every account on the held list (Diego included): the next read sees them enabled.
    for (const leaver of leavers) await emulatorAdmin(`users/${leaver.subject}/enable`);
    await emulatorAdmin(`users/${entraUser("diego").oid}/enable`);
    const next = await nightlyRun();
    expect(next).toMatchObject({ status: "skipped", mode: "delta", error: "held_run_pending", deactivated: 0 });
    expect(await runRow(held.id)).toMatchObject({ status: "superseded", error: null });
    const superseded = (await actions()).filter((e) => e.action === "sync.held_superseded");
    expect(superseded.map((e) => JSON.parse(e.details))).toEqual([{ runId: held.id, supersededBy: next.id, reason: "enabled_again" }]);

    await until(async () => (await running()) === 0);
    const html = await sectionWhenIdle(adele);
    expect(html).not.toContain("Held: nothing was changed.");
    expect(html).not.toContain(">Apply<");
    expect(html).toContain("Superseded by a later read");
    const apply = await adele.post(`${SYNC}/runs/${held.id}/apply`, {}, { htmx: true });
    expect(apply.status).toBe(409);
    expect(await apply.text()).toContain("enabled again");
    for (const leaver of leavers) expect((await membership(leaver.userId))?.status).toBe("active");
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("active");
  });

  it("only some enabled again: the held run stays, whole; a smaller run never replaces it", { timeout: 60_000 }, async () => {
    const { leavers, run: held } = await heldRun();
    for (const leaver of leavers) await emulatorAdmin(`users/${leaver.subject}/enable`);
    // Diego stays disabled.
    expect(await nightlyRun()).toMatchObject({ status: "skipped", error: "held_run_pending" });
    expect(await runRow(held.id)).toMatchObject({ status: "held" });
    const listed = await env.DB.prepare("select count(*) as n from sync_run_changes where run_id = ? and change = 'deactivate'")
      .bind(held.id)
      .first<{ n: number }>();
    expect(listed?.n).toBe(7);
  });

  it("a preview or a failed run does not end it", { timeout: 30_000 }, async () => {
    const { adele, run: held } = await heldRun();
    await adele.post(`${SYNC}/preview`, {}, { htmx: true });
    await sectionWhenIdle(adele);
    await emulatorAdmin("faults", { endpoint: "delta", status: 500, times: 20 });
    expect((await nightlyRun()).status).toBe("failed");
    expect((await runRow(held.id))?.status).toBe("held");
    expect((await adele.post(`${SYNC}/runs/${held.id}/apply`, {}, { htmx: true })).status).toBe(200);
    expect(await runRow(held.id)).toMatchObject({ status: "applied", deactivated: 7 });
  });
});

describe("Dismiss", () => {
  it("while a later run is reading: that run waits and stores no link, and the read after it lists everyone", {
    timeout: 30_000,
  }, async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    expect((await nightlyRun()).mode).toBe("full");
    await massLeavers();
    const held = await nightlyRun();
    expect(held).toMatchObject({ status: "held", mode: "delta" });

    await emulatorAdmin("stats/reset");
    await emulatorAdmin("faults", { endpoint: "delta", delayMs: 1500 });
    const at = nextCronTime();
    await fireCron(at);
    await until(async () => ((await emulatorStats()).requests.delta ?? 0) >= 1);
    expect((await adele.post(`${SYNC}/runs/${held.id}/dismiss`, {}, { htmx: true })).status).toBe(200);
    const during = await waitForRun(nightlyRunId(CONTOSO, at));
    // It began behind the held run, so it changes nobody; the decision came meanwhile, so the
    // read it asks for starts as it ends.
    expect(during).toMatchObject({ status: "skipped", mode: "delta", error: "held_run_pending" });
    await until(async () => (await latestRunId()) !== during.id);
    const after = await waitForRun(await latestRunId());
    expect(after).toMatchObject({ trigger: "realtime", status: "held", mode: "full" });
  });
});
