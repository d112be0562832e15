// The Directory sync section: Sync now (polling until done), Preview, the safety threshold with
// Apply and Dismiss, Undo, and who may do any of it.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID } from "../../demo/directory.ts";
import { contosoByRole, linkMember } from "../support/people.ts";
import {
  CONTOSO,
  DEMO_USER_IDS,
  SYNC,
  heldRun,
  latestRunId,
  massLeavers,
  membership,
  nightlyRun,
  resetWorld,
  sectionWhenIdle,
  waitForRun,
} from "./support.ts";
import { createDirectoryUser } from "../support/emulator.ts";
import { connectContoso } from "../support/entra.ts";

beforeEach(resetWorld);

const auditActions = async () =>
  (
    await env.DB.prepare("select action, actor_user_id from audit_events where organization_id = ? order by id")
      .bind(CONTOSO)
      .all<{ action: string; actor_user_id: string | null }>()
  ).results;

describe("Sync now and Preview", () => {
  it("Sync now starts a run at once; the section polls until it shows the finished run", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    const first = await adele.get(SYNC, { "hx-request": "true" });
    const idle = await first.text();
    expect(idle).toContain("Next scheduled run:");
    expect(idle).toContain("02:30 UTC");
    expect(idle).toContain("No sync has run yet.");

    const started = await adele.post(`${SYNC}/run`, {}, { htmx: true });
    expect(started.status).toBe(200);
    const html = await started.text();
    expect(html).toContain('id="entra-sync"');
    expect(await waitForRun(await latestRunId())).toMatchObject({ trigger: "sync_now", status: "succeeded" });
    const done = await sectionWhenIdle(adele);
    expect(done).toContain("Sync now (full)");
    expect(done).toContain("Succeeded");
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("deactivated");
  });

  it("Preview computes the same result and changes nothing", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    const leaver = await linkMember(await createDirectoryUser("Previewed Leaver", { accountEnabled: false }));
    await adele.post(`${SYNC}/preview`, {}, { htmx: true });
    const run = await waitForRun(await latestRunId());
    expect(run).toMatchObject({ trigger: "preview", status: "previewed", deactivated: 0 });
    expect(JSON.parse(run.pending_changes!)).toEqual({ linkedMembers: 3, deactivate: 2, reactivate: 0, tenantId: CONTOSO_TENANT_ID });
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("active");
    expect((await membership(leaver.userId))?.status).toBe("active");
    const link = await env.DB.prepare("select delta_link_enc from entra_connections").first();
    expect(link?.delta_link_enc).toBeNull();
    const html = await sectionWhenIdle(adele);
    expect(html).toContain("nothing was changed");
    expect(html).toContain("Diego Siciliani");
    expect(html).toContain("Disabled in Entra ID");
    expect(html).not.toContain(">Apply<");
    expect((await auditActions()).filter((e) => e.action === "member.deactivated")).toEqual([]);
  });

  it("Sync now needs Auto-deprovision on; a second run while one is going is refused", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await adele.post("/settings/integrations/entra/features/auto-deprovision", { enabled: "false" }, { htmx: true });
    const refused = await adele.post(`${SYNC}/run`, {}, { htmx: true });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("Turn on Auto-deprovision sync");
    expect(await env.DB.prepare("select count(*) as n from sync_runs").first("n")).toBe(0);
  });
});

describe("safety threshold", () => {
  it("holds a run that would deactivate too many; the page lists them; Apply deactivates exactly them", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    const leavers = await massLeavers();
    const run = await nightlyRun();
    expect(run).toMatchObject({ status: "held", deactivated: 0 });
    expect(JSON.parse(run.pending_changes!)).toEqual({ linkedMembers: 8, deactivate: 7, reactivate: 0, tenantId: CONTOSO_TENANT_ID });
    for (const leaver of leavers) expect((await membership(leaver.userId))?.status).toBe("active");

    const html = await sectionWhenIdle(adele);
    expect(html).toContain("Held: nothing was changed.");
    expect(html).toContain("would deactivate 7 of 8 linked members");
    expect(html).toContain("Leaver 6");
    expect(html).toContain(">Apply<");
    expect(html).toContain(">Dismiss<");

    const applied = await adele.post(`${SYNC}/runs/${run.id}/apply`, {}, { htmx: true });
    expect(applied.status).toBe(200);
    for (const leaver of leavers)
      expect(await membership(leaver.userId)).toMatchObject({ status: "deactivated", deactivated_by_run: run.id });
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("deactivated");
    const after = await env.DB.prepare("select status, deactivated from sync_runs where id = ?").bind(run.id).first();
    expect(after).toMatchObject({ status: "applied", deactivated: 7 });
    const actions = await auditActions();
    expect(actions.filter((e) => e.action === "member.deactivated").length).toBe(7);
    expect(actions.find((e) => e.action === "sync.held_applied")?.actor_user_id).toBe(DEMO_USER_IDS.adele);
    expect((await adele.post(`${SYNC}/runs/${run.id}/apply`, {}, { htmx: true })).status).toBe(409);
  });

  it("Dismiss changes nothing; the next run reads everyone again and the threshold applies again", async () => {
    const { adele, leavers, run } = await heldRun();
    expect((await adele.post(`${SYNC}/runs/${run.id}/dismiss`, {}, { htmx: true })).status).toBe(200);
    expect(await env.DB.prepare("select status from sync_runs where id = ?").bind(run.id).first("status")).toBe("dismissed");
    for (const leaver of leavers) expect((await membership(leaver.userId))?.status).toBe("active");
    expect((await auditActions()).some((e) => e.action === "sync.held_dismissed")).toBe(true);
    // The delta link had moved past these leavers: without a full listing they would keep access.
    const link = await env.DB.prepare("select delta_link_enc from entra_connections where organization_id = ?").bind(CONTOSO).first();
    expect(link?.delta_link_enc).toBeNull();
    const next = await nightlyRun();
    expect(next).toMatchObject({ status: "held", mode: "full", deactivated: 0 });
    expect(JSON.parse(next.pending_changes!)).toMatchObject({ linkedMembers: 8, deactivate: 7 });
    expect((await adele.post(`${SYNC}/runs/${run.id}/apply`, {}, { htmx: true })).status).toBe(409);
  });

  it("is configurable: a higher threshold lets the same run through; bad input changes nothing", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await massLeavers();
    expect((await adele.post(`${SYNC}/threshold`, { percent: "0", minimum: "5" }, { htmx: true })).status).toBe(400);
    expect((await adele.post(`${SYNC}/threshold`, { percent: "90", minimum: "abc" }, { htmx: true })).status).toBe(400);
    // Only plain decimal integers: what Number() would also accept is refused with a clear message.
    for (const [percent, minimum] of [
      ["0x10", "5"],
      ["1e2", "5"],
      ["90", ""],
      ["90", "   "],
      ["12.5", "5"],
      ["90", "-1"],
      ["+90", "5"],
    ]) {
      const refused = await adele.post(`${SYNC}/threshold`, { percent: percent!, minimum: minimum! }, { htmx: true });
      expect(refused.status).toBe(400);
      expect(await refused.text()).toMatch(/as a whole number/);
    }
    const unchanged = await env.DB.prepare(
      "select hold_threshold_percent as p, hold_threshold_minimum as m from entra_connections",
    ).first();
    expect(unchanged).toEqual({ p: 10, m: 5 });
    const saved = await adele.post(`${SYNC}/threshold`, { percent: "90", minimum: "5" }, { htmx: true });
    expect(saved.status).toBe(200);
    expect(await saved.text()).toContain('value="90"');
    const run = await nightlyRun();
    expect(run).toMatchObject({ status: "succeeded", deactivated: 7 });
  });
});

describe("Undo", () => {
  it("reactivates exactly the members that run deactivated, audited, once", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    const byHand = await linkMember(await createDirectoryUser("Hand Deactivated"));
    await env.DB.prepare(
      "update memberships set status = 'deactivated', deactivated_reason = 'by_hand', deactivated_at = 1 where user_id = ?",
    )
      .bind(byHand.userId)
      .run();
    const run = await nightlyRun();
    expect(run.deactivated).toBe(1);
    const html = await sectionWhenIdle(adele);
    expect(html).toContain(">Undo<");
    const undone = await adele.post(`${SYNC}/runs/${run.id}/undo`, {}, { htmx: true });
    expect(undone.status).toBe(200);
    expect(await undone.text()).toContain("undone");
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("active");
    expect((await membership(byHand.userId))?.status).toBe("deactivated");
    const actions = await auditActions();
    expect(actions.filter((e) => e.action === "sync.run_undone")).toEqual([
      { action: "sync.run_undone", actor_user_id: DEMO_USER_IDS.adele },
    ]);
    expect(actions.filter((e) => e.action === "member.reactivated")).toEqual([
      { action: "member.reactivated", actor_user_id: DEMO_USER_IDS.adele },
    ]);
    expect((await adele.post(`${SYNC}/runs/${run.id}/undo`, {}, { htmx: true })).status).toBe(409);
  });
});

describe("access", () => {
  it("Owners and Admins only; CSRF required; unknown runs are 404", async () => {
    await connectContoso(["auto-deprovision"]);
    const browsers = await contosoByRole();
    for (const role of ["manager", "member", "viewer"] as const) {
      expect((await browsers[role].get(SYNC)).status).toBe(403);
      expect((await browsers[role].post(`${SYNC}/run`, {}, { htmx: true })).status).toBe(403);
    }
    expect((await browsers.admin.get(SYNC)).status).toBe(200);
    expect((await browsers.owner.post(`${SYNC}/run`, {}, { csrf: null })).status).toBe(403);
    expect((await browsers.owner.post(`${SYNC}/runs/${crypto.randomUUID()}/undo`, {}, { htmx: true })).status).toBe(404);
    expect((await browsers.owner.post(`${SYNC}/runs/not-a-run/undo`, {}, { htmx: true })).status).toBe(400);
    expect(await env.DB.prepare("select count(*) as n from sync_runs").first("n")).toBe(0);
  });
});
