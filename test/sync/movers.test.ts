// Roles follow the groups (issue 19): a group membership change in Entra reaches the mapped role in
// the next directory run (nightly, or the one a /groups change notification starts), by the rule
// sign-in uses; only the members the group delta names cost anything; Owners stay Owners.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { GROUP_IDS, entraUser } from "../../demo/directory.ts";
import { TestBrowser } from "../support/browser.ts";
import { contosoRoleOf, mapGroup } from "../support/directory.ts";
import { createDirectoryUser, emulatorAdmin, emulatorStats } from "../support/emulator.ts";
import { linkMember } from "../support/people.ts";
import { membership } from "./support.ts";
import { connectContoso } from "../support/entra.ts";
import { graphSubscriptions, realtimeWorld, withoutBurstWait } from "../realtime/support.ts";
import { CONTOSO, nightlyRun, resetWorld, until } from "./support.ts";

const adele = entraUser("adele");
const megan = entraUser("megan");
const alex = entraUser("alex");

async function mappedContoso(features: Parameters<typeof connectContoso>[0]) {
  await mapGroup(GROUP_IDS.uniassetAdmins, "UniAsset Admins", "admin");
  await mapGroup(GROUP_IDS.uniassetManagers, "UniAsset Managers", "manager");
  const owner = await connectContoso(features);
  for (const person of [alex, megan]) expect((await new TestBrowser().signInWithMicrosoft(person.oid)).status).toBe(302);
  expect((await contosoRoleOf(alex.oid))?.role).toBe("admin");
  expect((await contosoRoleOf(megan.oid))?.role).toBe("manager");
  return owner;
}

type RoleAudit = { oid: string; from?: string; to?: string; runId?: string; [key: string]: unknown };
const roleMappedAudits = (): Promise<RoleAudit[]> =>
  env.DB.prepare(
    "select a.details, i.subject as oid from audit_events a join identities i on i.user_id = a.target_user_id where a.action = 'entra.role_mapped' and a.organization_id = ? order by a.id",
  )
    .bind(CONTOSO)
    .all<{ details: string; oid: string }>()
    .then((r) => r.results.map((row) => ({ oid: row.oid, ...(JSON.parse(row.details) as Record<string, string>) })));

describe("with real-time updates", () => {
  beforeEach(realtimeWorld);

  it("holds a /groups subscription beside the users one while mapping is on", async () => {
    await mappedContoso(["auto-provision", "auto-deprovision", "group-role-mapping"]);
    const held = await graphSubscriptions();
    expect(held.map((s) => s.resource).sort()).toEqual(["/groups", "users"]);
    const stored = await env.DB.prepare("select subscription_id from group_subscriptions where organization_id = ?").bind(CONTOSO).first();
    expect(stored?.subscription_id).toBe(held.find((s) => s.resource === "/groups")!.id);
  });

  it("makes Alex a Member when he leaves IT Staff (nested in UniAsset Admins), with no sign-in and no Sync now", async () => {
    await using _ = await withoutBurstWait();
    await mappedContoso(["auto-provision", "auto-deprovision", "group-role-mapping"]);
    await emulatorAdmin("stats/reset");
    const leftAt = Date.now();
    await emulatorAdmin(`groups/${GROUP_IDS.itStaff}/members/${alex.oid}`, undefined, "DELETE");
    await until(async () => (await contosoRoleOf(alex.oid))?.role === "member", 30_000);
    expect(Date.now() - leftAt).toBeLessThan(60_000);
    const run = await env.DB.prepare("select id, trigger from sync_runs where organization_id = ? order by started_at desc limit 1")
      .bind(CONTOSO)
      .first<{ id: string; trigger: string }>();
    expect(run?.trigger).toBe("realtime");
    const audits = (await roleMappedAudits()).filter((a) => a.runId);
    expect(audits).toEqual([{ oid: alex.oid, from: "admin", to: "member", group: null, groupId: null, rule: "default", runId: run!.id }]);
    // Megan's groups did not change: nobody read them.
    expect((await contosoRoleOf(megan.oid))?.role).toBe("manager");
    const { requests } = await emulatorStats();
    expect(requests.memberOf ?? 0).toBe(1); // Alex's groups, inside one $batch
  });
});

describe("in the nightly run", () => {
  beforeEach(resetWorld);

  it("applies group changes the notifications never delivered, promotes and lowers by the sign-in rule, and keeps Owners", async () => {
    await mappedContoso(["auto-provision", "auto-deprovision", "group-role-mapping"]);
    await emulatorAdmin(`groups/${GROUP_IDS.itStaff}/members/${alex.oid}`, undefined, "DELETE");
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetAdmins}/members`, { oid: megan.oid });
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetAdmins}/members`, { oid: adele.oid });
    // Not yet: the notifications were held back (the sync suites' world).
    expect((await contosoRoleOf(alex.oid))?.role).toBe("admin");
    const run = await nightlyRun();
    expect(run.status).toBe("succeeded");
    expect((await contosoRoleOf(alex.oid))?.role).toBe("member");
    expect((await contosoRoleOf(megan.oid))?.role).toBe("admin");
    expect((await contosoRoleOf(adele.oid))?.role).toBe("owner");
    const audits = (await roleMappedAudits()).filter((a) => a.runId === run.id);
    expect(audits.map((a) => [a.oid, a.from, a.to]).sort()).toEqual(
      [
        [alex.oid, "admin", "member"],
        [megan.oid, "manager", "admin"],
      ].sort(),
    );
    // The next run reads no change and reads no one's groups.
    await emulatorAdmin("stats/reset");
    await nightlyRun();
    expect((await emulatorStats()).requests.memberOf ?? 0).toBe(0);
  });

  it("changes nothing while mapping is off, and reads no group delta", async () => {
    await mappedContoso(["auto-provision", "auto-deprovision", "group-role-mapping"]);
    await env.DB.prepare("update entra_connections set group_role_mapping = 0 where organization_id = ?").bind(CONTOSO).run();
    await emulatorAdmin(`groups/${GROUP_IDS.itStaff}/members/${alex.oid}`, undefined, "DELETE");
    await emulatorAdmin("stats/reset");
    await nightlyRun();
    expect((await contosoRoleOf(alex.oid))?.role).toBe("admin");
    expect((await emulatorStats()).requests.groupDelta ?? 0).toBe(0);
  });
});

describe("a role set by hand", () => {
  beforeEach(resetWorld);

  it("is refused with an explanation while mapping is on; Owner stays a hand change; with mapping off it works", async () => {
    const owner = await mappedContoso(["auto-provision", "group-role-mapping"]);
    const alexId = (await env.DB.prepare("select user_id from identities where subject = ?").bind(alex.oid).first<{ user_id: string }>())!
      .user_id;
    const refused = await owner.post(`/users/${alexId}/role`, { role: "viewer" }, { htmx: true });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("role comes from their Microsoft Entra ID groups");
    expect((await contosoRoleOf(alex.oid))?.role).toBe("admin");
    // Owner is no mapped role: making someone Owner, and back, stays in an Owner's hands.
    expect((await owner.post(`/users/${alexId}/role`, { role: "owner" })).status).toBe(303);
    expect((await contosoRoleOf(alex.oid))?.role).toBe("owner");
    expect((await owner.post(`/users/${alexId}/role`, { role: "admin" })).status).toBe(303);
    await env.DB.prepare("update entra_connections set group_role_mapping = 0 where organization_id = ?").bind(CONTOSO).run();
    expect((await owner.post(`/users/${alexId}/role`, { role: "viewer" })).status).toBe(303);
    expect((await contosoRoleOf(alex.oid))?.role).toBe("viewer");
  });
});

describe("mass lowering", () => {
  beforeEach(resetWorld);

  /** Six more managers through "UniAsset Managers": with Megan, 7 of 10 linked members. */
  async function managers() {
    const people = [];
    for (let i = 1; i <= 6; i++) {
      const identity = await createDirectoryUser(`Manager ${i}`);
      await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members`, { oid: identity.subject });
      people.push(await linkMember(identity, { role: "manager" }));
    }
    return people;
  }

  it("is held past the threshold: nothing changes until Apply, the page says who goes from what to what and why", async () => {
    const owner = await mappedContoso(["auto-provision", "auto-deprovision", "group-role-mapping"]);
    const people = await managers();
    // Tracking starts after they were added (the mapping was turned on before): a fresh start.
    for (const person of people) await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members/${person.subject}`, undefined, "DELETE");
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members/${megan.oid}`, undefined, "DELETE");
    const run = await nightlyRun();
    for (const person of people) expect((await membership(person.userId))?.role).toBe("manager");
    const page = await (await owner.get("/settings/integrations/entra/role-changes")).text();
    expect(page).toContain("Held: these role changes wait for you");
    expect(page).toContain("Manager 3");
    expect(page).toContain("In no mapped group: the default role");
    expect((await roleMappedAudits()).filter((a) => a.runId === run.id)).toEqual([]);

    expect((await owner.post(`/settings/integrations/entra/role-changes/${run.id}/apply`, {})).status).toBe(303);
    for (const person of people) expect((await membership(person.userId))?.role).toBe("member");
    expect((await contosoRoleOf(megan.oid))?.role).toBe("member");
    expect((await roleMappedAudits()).filter((a) => a.runId === run.id)).toHaveLength(7);
    // Applied once: a second Apply finds nothing left to do.
    expect((await owner.post(`/settings/integrations/entra/role-changes/${run.id}/apply`, {}, { htmx: true })).status).toBe(409);
  });

  it("Dismiss changes nobody; Undo puts back exactly the roles a run changed", async () => {
    const owner = await mappedContoso(["auto-provision", "auto-deprovision", "group-role-mapping"]);
    const people = await managers();
    for (const person of people) await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members/${person.subject}`, undefined, "DELETE");
    const held = await nightlyRun();
    expect((await owner.post(`/settings/integrations/entra/role-changes/${held.id}/dismiss`, {})).status).toBe(303);
    for (const person of people) expect((await membership(person.userId))?.role).toBe("manager");

    // Under the threshold: Alex alone, applied at once, and undone by an Owner.
    await emulatorAdmin(`groups/${GROUP_IDS.itStaff}/members/${alex.oid}`, undefined, "DELETE");
    const run = await nightlyRun();
    expect((await contosoRoleOf(alex.oid))?.role).toBe("member");
    expect((await owner.post(`/settings/integrations/entra/role-changes/${run.id}/undo`, {})).status).toBe(303);
    expect((await contosoRoleOf(alex.oid))?.role).toBe("admin");
    for (const person of people) expect((await membership(person.userId))?.role).toBe("manager");
  });
});
