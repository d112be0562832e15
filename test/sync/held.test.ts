// A held run is a snapshot of one night's directory: it can be applied only while it is still
// the latest word on the connected tenant with Auto-deprovision on, exactly once, and settling
// it any other way makes the next run read everyone again.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { nightlyRunId } from "../../src/entra/sync/schedule.ts";
import { ENTRA_PAGE, connectContoso, connectEntra } from "../support/entra.ts";
import { emulatorAdmin, emulatorStats } from "../support/emulator.ts";
import {
  CONTOSO, DEMO_USER_IDS, SYNC, fireCron, heldRun, massLeavers, membership, nextCronTime, nightlyRun, resetWorld, sectionWhenIdle, until,
  waitForRun,
} from "./support.ts";

beforeEach(resetWorld);

const runRow = (id: string) =>
  env.DB.prepare("select status, error, deactivated from sync_runs where id = ?").bind(id).first<{ status: string; error: string | null; deactivated: number }>();
const actions = async () =>
  (await env.DB.prepare("select action, details from audit_events where organization_id = ? order by id").bind(CONTOSO).all<{ action: string; details: string }>()).results;
const deltaLink = async () =>
  (await env.DB.prepare("select delta_link_enc from entra_connections where organization_id = ?").bind(CONTOSO).first<{ delta_link_enc: string | null }>())?.delta_link_enc;

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
    const other = await emulatorAdmin<{ adminOid: string }>("synthetic-tenants", { users: 20, disabledPercent: 0, consented: true, domain: "elsewhere.example" });
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

describe("a later run supersedes a held run", () => {
  it("accounts enabled again by the next night: the old held run can no longer be applied, and everyone is read again", async () => {
    const { adele, leavers, run: held } = await heldRun();

    // IT re-enables the accounts: the next (delta) run sees them enabled, and they are active anyway.
    for (const leaver of leavers) await emulatorAdmin(`users/${leaver.subject}/enable`);
    const next = await nightlyRun();
    expect(next).toMatchObject({ status: "succeeded", mode: "delta", deactivated: 0 });
    expect(await runRow(held.id)).toMatchObject({ status: "superseded", error: null });
    const superseded = (await actions()).filter((e) => e.action === "sync.held_superseded");
    expect(superseded.map((e) => JSON.parse(e.details))).toEqual([{ runId: held.id, supersededBy: next.id }]);

    const html = await sectionWhenIdle(adele);
    expect(html).not.toContain("Held: nothing was changed.");
    expect(html).not.toContain(">Apply<");
    expect(html).toContain("Superseded by a later run");
    const apply = await adele.post(`${SYNC}/runs/${held.id}/apply`, {}, { htmx: true });
    expect(apply.status).toBe(409);
    expect(await apply.text()).toContain("later sync");
    for (const leaver of leavers) expect((await membership(leaver.userId))?.status).toBe("active");

    // The held run's leavers were skipped by the delta link: the next run lists everyone.
    expect(await deltaLink()).toBeNull();
    const full = await nightlyRun();
    expect(full).toMatchObject({ status: "succeeded", mode: "full", deactivated: 1 });
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("deactivated");
    for (const leaver of leavers) expect((await membership(leaver.userId))?.status).toBe("active");
  });

  it("a preview or a failed run does not supersede it", async () => {
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
  it("while a delta run is reading: that run does not store its link, and the next run is full", { timeout: 30_000 }, async () => {
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
    expect(during).toMatchObject({ status: "succeeded", mode: "delta" });

    expect(await deltaLink()).toBeNull();
    const after = await nightlyRun();
    expect(after).toMatchObject({ status: "held", mode: "full" });
  });
});
