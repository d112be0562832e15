// The nightly Cron Trigger through the real scheduled() handler and Workflow, against the emulator:
// who is deactivated, who is reactivated, and who is never touched.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, FABRIKAM_TENANT_ID, entraUser } from "../../demo/directory.ts";
import { nightlyRunId } from "../../src/entra/sync/schedule.ts";
import { ENTRA_PAGE, connectContoso, connectEntra } from "../support/entra.ts";
import { linkMember, signedIn } from "../support/people.ts";
import { emulatorAdmin, createDirectoryUser } from "../support/emulator.ts";
import {
  CONTOSO,
  DEMO_ORGS,
  DEMO_USER_IDS,
  fireCron,
  membership,
  nextCronTime,
  nightlyRun,
  resetWorld,
  waitForRun,
} from "../sync/support.ts";

beforeEach(resetWorld);

const audit = (action: string, organizationId = CONTOSO) =>
  env.DB.prepare("select actor_user_id, target_user_id, details from audit_events where organization_id = ? and action = ? order by id")
    .bind(organizationId, action)
    .all<{ actor_user_id: string | null; target_user_id: string | null; details: string }>()
    .then((r) => r.results);

describe("leavers are deactivated", () => {
  it("a disabled account (Diego): deactivated by directory sync, sessions ended, audited with no actor", async () => {
    await connectContoso(["auto-deprovision"]);
    await env.DB.prepare(
      "insert into sessions (token_hash, user_id, organization_id, created_at, last_seen_at, expires_at) values ('diego-session', ?, ?, 1, 1, 9999999999999)",
    )
      .bind(DEMO_USER_IDS.diego, CONTOSO)
      .run();
    const run = await nightlyRun();
    expect(run).toMatchObject({
      status: "succeeded",
      trigger: "schedule",
      mode: "full",
      deactivated: 1,
      reactivated: 0,
      users_read: 7,
      graph_requests: 2,
    });
    expect(await membership(DEMO_USER_IDS.diego)).toMatchObject({
      status: "deactivated",
      deactivated_reason: "directory_sync",
      deactivated_by_run: run.id,
    });
    expect((await membership(DEMO_USER_IDS.adele))?.status).toBe("active");
    const sessions = await env.DB.prepare("select count(*) as n from sessions where user_id = ?")
      .bind(DEMO_USER_IDS.diego)
      .first<{ n: number }>();
    expect(sessions?.n).toBe(0);
    const [event] = await audit("member.deactivated");
    expect(event).toMatchObject({ actor_user_id: null, target_user_id: DEMO_USER_IDS.diego });
    expect(JSON.parse(event!.details)).toMatchObject({ reason: "directory_sync", cause: "disabled", runId: run.id });
    const [finished] = await audit("sync.run_finished");
    expect(JSON.parse(finished!.details)).toMatchObject({ runId: run.id, outcome: "succeeded", deactivated: 1 });
  });

  it("later runs read only the delta: disabled and deleted accounts are deactivated", async () => {
    await connectContoso(["auto-deprovision"]);
    const first = await nightlyRun();
    expect(first.mode).toBe("full");
    const stored = await env.DB.prepare("select delta_link_enc from entra_connections where organization_id = ?")
      .bind(CONTOSO)
      .first<{ delta_link_enc: string }>();
    expect(stored?.delta_link_enc).toMatch(/^v1\./);
    expect(stored?.delta_link_enc).not.toContain("deltatoken");

    const disabled = await linkMember(await createDirectoryUser("Nina Disabled"));
    const deleted = await linkMember(await createDirectoryUser("Omar Deleted"));
    await emulatorAdmin(`users/${disabled.subject}/disable`);
    await emulatorAdmin(`users/${deleted.subject}/delete`);
    const second = await nightlyRun();
    expect(second).toMatchObject({ status: "succeeded", mode: "delta", deactivated: 2 });
    expect(second.users_read).toBeLessThan(6);
    expect((await membership(disabled.userId))?.status).toBe("deactivated");
    expect((await membership(deleted.userId))?.status).toBe("deactivated");
    const causes = (await audit("member.deactivated")).map((e) => JSON.parse(e.details).cause);
    expect(causes.sort()).toEqual(["deleted", "disabled", "disabled"]);
  });

  it("a member absent from a complete full listing is deactivated", async () => {
    const { userId: ghostId } = await linkMember({
      issuer: CONTOSO_TENANT_ID,
      subject: crypto.randomUUID(),
      name: "Ghost",
      email: "ghost@contoso.example",
    });
    await connectContoso(["auto-deprovision"]);
    const run = await nightlyRun();
    expect(run.deactivated).toBe(2);
    expect((await membership(ghostId))?.status).toBe("deactivated");
    const causes = (await audit("member.deactivated")).map((e) => JSON.parse(e.details).cause);
    expect(causes.sort()).toEqual(["absent", "disabled"]);
  });
});

describe("returners and everyone else", () => {
  it("an account enabled again is reactivated: only members that sync deactivated", async () => {
    await connectContoso(["auto-deprovision"]);
    const byHand = await linkMember(await createDirectoryUser("Hana Manual"));
    await env.DB.prepare(
      "update memberships set status = 'deactivated', deactivated_reason = 'by_hand', deactivated_at = 1 where user_id = ?",
    )
      .bind(byHand.userId)
      .run();
    await nightlyRun();
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("deactivated");

    await emulatorAdmin(`users/${entraUser("diego").oid}/enable`);
    await emulatorAdmin(`users/${byHand.subject}/disable`);
    await emulatorAdmin(`users/${byHand.subject}/enable`);
    const run = await nightlyRun();
    expect(run).toMatchObject({ status: "succeeded", mode: "delta", reactivated: 1, deactivated: 0 });
    expect(await membership(DEMO_USER_IDS.diego)).toMatchObject({ status: "active", deactivated_reason: null, deactivated_by_run: null });
    // Hana was deactivated by hand: sync never brings her back.
    expect(await membership(byHand.userId)).toMatchObject({ status: "deactivated", deactivated_reason: "by_hand" });
    const [event] = await audit("member.reactivated");
    expect(event).toMatchObject({ actor_user_id: null, target_user_id: DEMO_USER_IDS.diego });
  });

  it("keeps the last active Owner even when her account is disabled", async () => {
    await connectContoso(["auto-deprovision"]);
    await emulatorAdmin(`users/${entraUser("adele").oid}/disable`);
    const run = await nightlyRun();
    expect(run.status).toBe("succeeded");
    expect(run.deactivated).toBe(1);
    expect((await membership(DEMO_USER_IDS.adele))?.status).toBe("active");
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("deactivated");
  });

  it("never touches a Google-only member (Sam) or one linked to another tenant", async () => {
    const { userId: sam } = await linkMember("sam");
    // Lee's Microsoft identity is in Fabrikam's tenant, not Contoso's.
    await env.DB.prepare(
      "insert into memberships (organization_id, user_id, role, status, created_at) values (?, ?, 'member', 'active', 1)",
    )
      .bind(CONTOSO, DEMO_USER_IDS.lee)
      .run();
    await connectContoso(["auto-deprovision"]);
    const run = await nightlyRun();
    expect(run.deactivated).toBe(1);
    expect((await membership(sam))?.status).toBe("active");
    expect((await membership(DEMO_USER_IDS.lee))?.status).toBe("active");
  });
});

describe("scheduling", () => {
  it("a repeated cron event starts one run", async () => {
    await connectContoso(["auto-deprovision"]);
    const at = nextCronTime();
    await fireCron(at);
    await fireCron(at);
    await waitForRun(nightlyRunId(CONTOSO, at));
    const runs = await env.DB.prepare("select count(*) as n from sync_runs where organization_id = ?").bind(CONTOSO).first<{ n: number }>();
    expect(runs?.n).toBe(1);
    expect((await audit("member.deactivated")).length).toBe(1);
  });

  it("records a skipped night when another run is still going, and changes nothing", async () => {
    await connectContoso(["auto-deprovision"]);
    // A run started a minute ago (e.g. a Preview) is still going.
    await env.DB.prepare("insert into sync_runs (id, organization_id, trigger, status, started_at) values (?, ?, 'preview', 'running', ?)")
      .bind(crypto.randomUUID(), CONTOSO, Date.now() - 60_000)
      .run();
    const at = nextCronTime();
    await fireCron(at);
    await fireCron(at);
    const skipped = await env.DB.prepare("select status, error, trigger from sync_runs where id = ?")
      .bind(nightlyRunId(CONTOSO, at))
      .first();
    expect(skipped).toEqual({ status: "skipped", error: null, trigger: "schedule" });
    const runs = await env.DB.prepare("select count(*) as n from sync_runs where organization_id = ?").bind(CONTOSO).first<{ n: number }>();
    expect(runs?.n).toBe(2);
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("active");
  });

  it("runs only where Auto-deprovision is on", async () => {
    const adele = await signedIn("adele");
    await connectEntra(adele);
    const at = nextCronTime();
    await fireCron(at);
    const runs = await env.DB.prepare("select count(*) as n from sync_runs").first<{ n: number }>();
    expect(runs?.n).toBe(0);
    expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("active");
  });

  it("two organizations on different tenants do not affect each other", async () => {
    await env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.fabrikam.id).run();
    await connectContoso(["auto-deprovision"]);
    const lee = await signedIn("lee");
    const back = await connectEntra(lee, { account: entraUser("lee").oid });
    expect(back.headers.get("location")).toBe(ENTRA_PAGE);
    await lee.page(ENTRA_PAGE);
    await lee.post(`${ENTRA_PAGE}/features/auto-deprovision`, { enabled: "true" }, { htmx: true });
    const fabrikamLeaver = await linkMember(
      await createDirectoryUser("Fabrikam Leaver", { tenantId: FABRIKAM_TENANT_ID, accountEnabled: false }),
      { organizationId: DEMO_ORGS.fabrikam.id },
    );

    const at = nextCronTime();
    await fireCron(at);
    const contosoRun = await waitForRun(nightlyRunId(CONTOSO, at));
    const fabrikamRun = await waitForRun(nightlyRunId(DEMO_ORGS.fabrikam.id, at));
    expect(contosoRun).toMatchObject({ status: "succeeded", deactivated: 1, users_read: 7 });
    expect(fabrikamRun).toMatchObject({ status: "succeeded", deactivated: 1 });
    expect(await membership(DEMO_USER_IDS.diego)).toMatchObject({ status: "deactivated", deactivated_by_run: contosoRun.id });
    expect(await membership(fabrikamLeaver.userId, DEMO_ORGS.fabrikam.id)).toMatchObject({
      status: "deactivated",
      deactivated_by_run: fabrikamRun.id,
    });
    expect((await membership(DEMO_USER_IDS.lee, DEMO_ORGS.fabrikam.id))?.status).toBe("active");
    expect((await audit("member.deactivated", DEMO_ORGS.fabrikam.id)).map((e) => e.target_user_id)).toEqual([fabrikamLeaver.userId]);
  });
});
