// Scope leavers follow every leaver rule (issue 20): a run's members who left the sync scope (out
// of the scope's groups, or moved to a domain that is not chosen) are deactivated as "left the sync
// scope" on the run's own change list, counted with its other leavers against the hold threshold,
// held with the list (Apply, Dismiss), undone by Undo, never the last Owner, and reactivated when
// back. Runs judge the domains too (a full listing, a delta round's moved user, a chosen domain
// removed in Entra), and so does a real-time read; its group leavers wait for the nightly run.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, GROUP_IDS, entraUser } from "../../demo/directory.ts";
import { createDirectoryUser, EMULATOR, emulatorAdmin } from "../support/emulator.ts";
import { ENTRA_PAGE, connectContoso } from "../support/entra.ts";
import { linkMember } from "../support/people.ts";
import { contosoAudit } from "../support/world.ts";
import { realtimeWorld, runsSettled, withoutBurstWait } from "../realtime/support.ts";
import { addEndpoint, receiverUrl } from "../events/support.ts";
import { CONTOSO, DEMO_USER_IDS, SYNC, membership, nightlyRun, resetWorld, sectionWhenIdle, until } from "./support.ts";

const isaiah = entraUser("isaiah");

/** A run's Workflow has ended (its row closes before the re-read step). */
async function runDone() {
  const run = await nightlyRun();
  const instance = await env.SYNC_WORKFLOW.get(run.id);
  await until(async () => ["complete", "errored", "terminated"].includes((await instance.status()).status), 30_000);
  return run;
}

const groupScope = (groupId: string) =>
  env.DB.batch([
    env.DB.prepare("insert or replace into sync_scopes (organization_id, mode, updated_at) values (?, 'groups', 1)").bind(CONTOSO),
    env.DB.prepare("insert into sync_scope_groups (organization_id, group_id, display_name) values (?, ?, 'UniAsset Managers')").bind(
      CONTOSO,
      groupId,
    ),
  ]);

const chooseDomain = (name: string, chosen: boolean) =>
  env.DB.prepare("update sync_scope_domains set chosen = ? where organization_id = ? and name = ?")
    .bind(chosen ? 1 : 0, CONTOSO, name)
    .run();

const runChanges = async (runId: string) =>
  (
    await env.DB.prepare("select user_id, change, cause from sync_run_changes where run_id = ? order by user_id")
      .bind(runId)
      .all<{ user_id: string; change: string; cause: string }>()
  ).results;

async function moveTo(oid: string, upn: string) {
  const response = await env.EMULATOR.fetch(`${EMULATOR}/_emulator/users/${oid}`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userPrincipalName: upn }),
  });
  expect(response.status).toBe(200);
}

const linkIsaiah = () => linkMember({ issuer: CONTOSO_TENANT_ID, subject: isaiah.oid, name: isaiah.displayName, email: isaiah.mail });

describe("the hold threshold", () => {
  beforeEach(resetWorld);

  it("more scope leavers than it allows: the run is held, its page lists them and why; Apply deactivates them, Undo brings them back", {
    timeout: 90_000,
  }, async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await addEndpoint(adele, receiverUrl("scope-leavers"), ["member.deactivated"]);
    const people = [];
    for (let i = 0; i < 8; i++) people.push(await linkMember(await createDirectoryUser(`Out ${i}`)));
    await env.DB.prepare(
      "insert into sessions (token_hash, user_id, organization_id, created_at, last_seen_at, expires_at) values ('out0', ?, ?, 1, 1, 9999999999999)",
    )
      .bind(people[0]!.userId, CONTOSO)
      .run();
    await groupScope(GROUP_IDS.uniassetManagers);
    const run = await runDone();
    expect(run.status).toBe("held");
    for (const person of people) expect(await membership(person.userId)).toMatchObject({ status: "active" });
    // The eight, Adele (outside the group; as the last Owner she stays at Apply) and Diego (disabled).
    const listed = await runChanges(run.id);
    expect(listed.filter((c) => c.cause === "left_scope").length).toBe(9);
    expect(listed).toContainEqual({ user_id: DEMO_USER_IDS.diego, change: "deactivate", cause: "disabled" });
    expect(JSON.parse(run.pending_changes!)).toMatchObject({ deactivate: 10 });
    // A later run waits behind it: its people are enabled in Entra ID, but still outside the scope.
    expect(await runDone()).toMatchObject({ status: "skipped", error: "held_run_pending" });
    expect(await env.DB.prepare("select status from sync_runs where id = ?").bind(run.id).first("status")).toBe("held");

    await adele.page(ENTRA_PAGE);
    const section = await sectionWhenIdle(adele);
    expect(section).toContain("Left the sync scope");
    expect(section).toContain("Out 3");
    expect(section).toContain("Disabled in Entra ID");

    expect((await adele.post(`${SYNC}/runs/${run.id}/apply`, {}, { htmx: true })).status).toBe(200);
    for (const person of people)
      expect(await membership(person.userId)).toMatchObject({
        status: "deactivated",
        deactivated_reason: "left_scope",
        deactivated_by_run: run.id,
      });
    expect(await membership(DEMO_USER_IDS.diego)).toMatchObject({ status: "deactivated", deactivated_reason: "directory_sync" });
    expect(await membership(DEMO_USER_IDS.adele)).toMatchObject({ status: "active" });
    expect(await env.DB.prepare("select count(*) as n from sessions where user_id = ?").bind(people[0]!.userId).first("n")).toBe(0);
    const audited = (await contosoAudit("member.deactivated")) as { reason: string; cause: string; runId: string }[];
    expect(audited.filter((d) => d.cause === "left_scope").slice(0, 1)).toEqual([
      { reason: "left_scope", cause: "left_scope", runId: run.id },
    ]);
    expect(audited.filter((d) => d.reason === "left_scope" && d.cause === "left_scope" && d.runId === run.id).length).toBe(8);
    const events = (
      await env.DB.prepare("select payload from webhook_events where organization_id = ? and type = 'member.deactivated'")
        .bind(CONTOSO)
        .all<{ payload: string }>()
    ).results.map((row) => JSON.parse(row.payload).data as { cause: string; directory_reason: string | null; run_id: string });
    expect(events.filter((e) => e.directory_reason === null && e.cause === "directory_sync" && e.run_id === run.id).length).toBe(8);

    expect((await adele.post(`${SYNC}/runs/${run.id}/undo`, {}, { htmx: true })).status).toBe(200);
    for (const person of people) expect(await membership(person.userId)).toMatchObject({ status: "active", deactivated_reason: null });
  });

  it("scope leavers and disabled leavers count together: neither alone is past it, both are; Dismiss changes nobody", {
    timeout: 90_000,
  }, async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members`, { oid: entraUser("adele").oid });
    await linkMember("megan");
    const inside = [];
    for (let i = 0; i < 40; i++) {
      const person = await createDirectoryUser(`Inside ${i}`);
      await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members`, { oid: person.subject });
      inside.push(await linkMember(person));
    }
    const outside = [];
    for (let i = 0; i < 3; i++) outside.push(await linkMember(await createDirectoryUser(`Outside ${i}`)));
    for (let i = 0; i < 2; i++) {
      const person = await createDirectoryUser(`Disabled ${i}`, { accountEnabled: false });
      await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members`, { oid: person.subject });
      await linkMember(person);
    }
    await groupScope(GROUP_IDS.uniassetManagers);
    // 3 outside the group, 2 disabled, and Diego (disabled, not in the group): 6 of 48, past 5 and 10 %.
    const run = await runDone();
    expect(run.status).toBe("held");
    const listed = await runChanges(run.id);
    expect(listed.map((c) => c.cause).sort()).toEqual(["disabled", "disabled", "disabled", "left_scope", "left_scope", "left_scope"]);
    await adele.page(ENTRA_PAGE);
    expect((await adele.post(`${SYNC}/runs/${run.id}/dismiss`, {}, { htmx: true })).status).toBe(200);
    for (const person of outside) expect(await membership(person.userId)).toMatchObject({ status: "active" });
  });
});

describe("domains, checked by runs", () => {
  beforeEach(resetWorld);

  it("a full run deactivates a member of an unchosen domain; a delta run follows a move out and back (reactivated by sync)", {
    timeout: 90_000,
  }, async () => {
    await connectContoso(["auto-deprovision"]);
    const { userId } = await linkIsaiah();
    await chooseDomain("contoso-uk.example", false);
    const first = await runDone();
    expect(first).toMatchObject({ status: "succeeded", mode: "full", deactivated: 2 }); // Diego, disabled; Isaiah
    expect(await membership(userId)).toMatchObject({
      status: "deactivated",
      deactivated_reason: "left_scope",
      deactivated_by_run: first.id,
    });

    await moveTo(isaiah.oid, "isaiah@contoso.example");
    const back = await runDone();
    expect(back).toMatchObject({ status: "succeeded", mode: "delta", reactivated: 1 });
    expect(await membership(userId)).toMatchObject({ status: "active", deactivated_reason: null });
    expect(await contosoAudit("member.reactivated")).toContainEqual({ reason: "back_in_scope", cause: "in_scope", runId: back.id });

    await moveTo(isaiah.oid, "isaiah@contoso-uk.example");
    const out = await runDone();
    expect(out).toMatchObject({ status: "succeeded", mode: "delta", deactivated: 1 });
    expect(await membership(userId)).toMatchObject({ status: "deactivated", deactivated_reason: "left_scope" });
  });

  it("a chosen domain removed in Entra: the next run lists everyone and deactivates its people; never someone deactivated by hand", {
    timeout: 90_000,
  }, async () => {
    await connectContoso(["auto-deprovision"]);
    const { userId } = await linkIsaiah();
    const byHand = await linkMember(await createDirectoryUser("Hand Off"), { status: "deactivated" });
    const first = await runDone();
    expect(first).toMatchObject({ mode: "full", deactivated: 1 }); // Diego
    expect(await membership(userId)).toMatchObject({ status: "active" });
    await emulatorAdmin(`tenants/${CONTOSO_TENANT_ID}/domains/contoso-uk.example`, undefined, "DELETE");
    const next = await runDone();
    expect(next).toMatchObject({ status: "succeeded", mode: "full", deactivated: 1 });
    expect(await membership(userId)).toMatchObject({ status: "deactivated", deactivated_reason: "left_scope" });
    expect(await membership(byHand.userId)).toMatchObject({ status: "deactivated", deactivated_reason: "by_hand" });
    // The stored delta link is the full run's: the run after reads only changes.
    expect((await runDone()).mode).toBe("delta");
  });
});

describe("a real-time read", () => {
  beforeEach(realtimeWorld);

  it("deactivates a member moved to an unchosen domain, and brings them back when moved back", { timeout: 90_000 }, async () => {
    await using _ = await withoutBurstWait();
    await connectContoso(["auto-deprovision"]);
    const { userId } = await linkIsaiah();
    await runDone();
    await runsSettled();
    await moveTo(isaiah.oid, "isaiah@contoso.onmicrosoft.com"); // the initial domain, not chosen
    await until(async () => (await membership(userId))?.status === "deactivated", 30_000);
    expect(await membership(userId)).toMatchObject({ deactivated_reason: "left_scope" });
    const run = await env.DB.prepare("select trigger from sync_runs where id = ?")
      .bind((await membership(userId))!.deactivated_by_run)
      .first<{ trigger: string }>();
    expect(run?.trigger).toBe("realtime");
    await runsSettled();
    await moveTo(isaiah.oid, "isaiah@contoso-uk.example");
    await until(async () => (await membership(userId))?.status === "active", 30_000);
  });

  it("with a group scope, leaves the group's leavers to the nightly run and adds no joiner outside the scope", {
    timeout: 90_000,
  }, async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await adele.page(ENTRA_PAGE);
    expect((await adele.post(`${ENTRA_PAGE}/import/add-new-people`, { enabled: "true" }, { htmx: true })).status).toBe(200);
    const megan = await linkMember("megan");
    await groupScope(GROUP_IDS.uniassetManagers);
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members`, { oid: entraUser("adele").oid });
    await runDone();
    await runsSettled();
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members/${entraUser("megan").oid}`, undefined, "DELETE");
    const { oid } = await emulatorAdmin<{ oid: string }>("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Olga Outside",
      userPrincipalName: "olga@contoso.example",
      accountEnabled: true,
    });
    await until(async () => {
      const runs = await env.DB.prepare("select count(*) as n from sync_runs where organization_id = ? and trigger = 'realtime'")
        .bind(CONTOSO)
        .first<{ n: number }>();
      return (runs?.n ?? 0) > 0;
    }, 30_000);
    await runsSettled();
    const olga = await env.DB.prepare("select count(*) as n from identities where subject = ?").bind(oid).first<{ n: number }>();
    expect(olga?.n).toBe(0);
    expect(await membership(megan.userId)).toMatchObject({ status: "active" });
    await runDone();
    expect(await membership(megan.userId)).toMatchObject({ status: "deactivated", deactivated_reason: "left_scope" });
  });
});
