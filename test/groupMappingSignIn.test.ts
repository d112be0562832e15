// Group → role mapping at every Microsoft sign-in: transitive groups from Graph, highest mapped
// role wins, else the default; Owners untouched; Graph trouble keeps the role and is recorded.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { GROUP_IDS, entraUser } from "../demo/directory.ts";
import { DEMO_ORGS } from "../demo/seed.ts";
import { TestBrowser } from "./support/browser.ts";
import { emulatorAdmin, emulatorStats } from "./support/emulator.ts";
import { contosoRoleOf, mapGroup } from "./support/directory.ts";
import { connectContoso } from "./support/entra.ts";
import { linkMember } from "./support/people.ts";
import { resetDemoWorld } from "./support/world.ts";
import { createDb } from "../src/db/client.ts";
import { resolveRoleFromGroups } from "../src/people/groupRoles.ts";
import { applyGroupRole } from "../src/entra/signInDirectory.ts";
import { runStatements } from "../src/db/statements.ts";

const megan = entraUser("megan");
const alex = entraUser("alex");

beforeEach(async () => {
  await resetDemoWorld();
  await connectContoso(["auto-provision", "group-role-mapping"]);
  await mapGroup(GROUP_IDS.uniassetAdmins, "UniAsset Admins", "admin");
  await mapGroup(GROUP_IDS.uniassetManagers, "UniAsset Managers", "manager");
});

const decisionOf = (oid: string) =>
  env.DB.prepare(
    "select d.rule, d.role, d.deciding_group, d.matched_groups, d.graph_read_at from role_decisions d join identities i on i.user_id = d.user_id where i.subject = ?",
  )
    .bind(oid)
    .first<{ rule: string; role: string; deciding_group: string | null; matched_groups: string; graph_read_at: number | null }>();

describe("the demo mappings", () => {
  it("make Alex admin through the nested IT Staff group and Megan manager", async () => {
    expect((await new TestBrowser().signInWithMicrosoft(alex.oid)).status).toBe(302);
    expect((await new TestBrowser().signInWithMicrosoft(megan.oid)).status).toBe(302);
    expect((await contosoRoleOf(alex.oid))?.role).toBe("admin");
    expect((await contosoRoleOf(megan.oid))?.role).toBe("manager");
    const why = (await decisionOf(alex.oid))!;
    expect(why.rule).toBe("group");
    expect(JSON.parse(why.deciding_group!)).toEqual({ id: GROUP_IDS.uniassetAdmins, name: "UniAsset Admins" });
    expect(why.graph_read_at).toBeTypeOf("number");
  });

  it("give Megan member (the default) at her next sign-in after she leaves the group, audited", async () => {
    await new TestBrowser().signInWithMicrosoft(megan.oid);
    expect((await contosoRoleOf(megan.oid))?.role).toBe("manager");
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members/${megan.oid}`, undefined, "DELETE");
    await new TestBrowser().signInWithMicrosoft(megan.oid);
    expect((await contosoRoleOf(megan.oid))?.role).toBe("member");
    const audit = await env.DB.prepare("select details from audit_events where action = 'entra.role_mapped' order by id desc").first<{
      details: string;
    }>();
    expect(JSON.parse(audit!.details)).toMatchObject({ from: "manager", to: "member", rule: "default" });
  });

  it("record the group that decided a promotion in the audit log", async () => {
    await new TestBrowser().signInWithMicrosoft(megan.oid); // provisioned as manager
    await env.DB.prepare("update memberships set role = 'viewer' where user_id = (select user_id from identities where subject = ?)")
      .bind(megan.oid)
      .run();
    await new TestBrowser().signInWithMicrosoft(megan.oid);
    const audit = await env.DB.prepare("select details from audit_events where action = 'entra.role_mapped' order by id desc").first<{
      details: string;
    }>();
    expect(JSON.parse(audit!.details)).toMatchObject({
      from: "viewer",
      to: "manager",
      group: "UniAsset Managers",
      groupId: GROUP_IDS.uniassetManagers,
    });
  });
});

describe("precedence", () => {
  it("takes the highest mapped role when several groups match", async () => {
    await mapGroup(GROUP_IDS.allStaff, "All Staff", "viewer");
    await mapGroup(GROUP_IDS.itStaff, "IT Staff", "manager");
    await new TestBrowser().signInWithMicrosoft(alex.oid);
    expect((await contosoRoleOf(alex.oid))?.role).toBe("admin");
    const why = (await decisionOf(alex.oid))!;
    expect(JSON.parse(why.matched_groups).map((g: { role: string }) => g.role)).toEqual(["admin", "manager", "viewer"]);
  });

  it("uses the configured default role when no mapped group matches", async () => {
    await env.DB.prepare("update entra_connections set default_role = 'viewer'").run();
    await env.DB.prepare("delete from group_role_mappings").run();
    await new TestBrowser().signInWithMicrosoft(megan.oid);
    expect((await contosoRoleOf(megan.oid))?.role).toBe("viewer");
    expect((await decisionOf(megan.oid))?.rule).toBe("default");
  });

  it("does not demote someone made Owner while their groups were being read", async () => {
    await new TestBrowser().signInWithMicrosoft(megan.oid); // manager by mapping
    const userId = (await env.DB.prepare("select user_id from identities where subject = ?").bind(megan.oid).first<{ user_id: string }>())!
      .user_id;
    // The decision below was taken while she was a manager; meanwhile an Owner promoted her.
    await env.DB.prepare("update memberships set role = 'owner' where user_id = ?").bind(userId).run();
    const db = createDb(env.DB);
    const decision = resolveRoleFromGroups([], [], "member");
    const statements = applyGroupRole(
      db,
      { organizationId: DEMO_ORGS.contoso.id, userId, role: "manager" },
      { ok: true, decision, graphReadAt: 1 },
      2,
    );
    await runStatements(db, statements);
    expect((await contosoRoleOf(megan.oid))?.role).toBe("owner");
  });

  it("never changes an Owner", async () => {
    await mapGroup(GROUP_IDS.allStaff, "All Staff", "viewer");
    await new TestBrowser().signInWithMicrosoft(entraUser("adele").oid);
    expect((await contosoRoleOf(entraUser("adele").oid))?.role).toBe("owner");
    expect((await decisionOf(entraUser("adele").oid))?.rule).toBe("owner_kept");
  });
});

describe("Graph at sign-in", () => {
  it("reads every page of a user's groups (a user in more than 200 groups)", async () => {
    const { groupIds } = await emulatorAdmin<{ groupIds: string[] }>(`users/${megan.oid}/bulk-groups`, { count: 1500 });
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members/${megan.oid}`, undefined, "DELETE");
    const last = groupIds.at(-1)!;
    await mapGroup(last, "Deep group", "admin");
    await emulatorAdmin("stats/reset");
    await new TestBrowser().signInWithMicrosoft(megan.oid);
    expect((await contosoRoleOf(megan.oid))?.role).toBe("admin");
    const stats = await emulatorStats();
    expect(stats.requests.memberOf).toBeGreaterThanOrEqual(2);
    expect(stats.lowPriority.memberOf).toBeUndefined(); // a person is waiting: normal priority
  });

  it("waits out a 429 with Retry-After and then maps", async () => {
    await emulatorAdmin("faults", { endpoint: "memberOf", status: 429, retryAfter: 1 });
    await new TestBrowser().signInWithMicrosoft(megan.oid);
    expect((await contosoRoleOf(megan.oid))?.role).toBe("manager");
  });

  it("keeps the current role when Graph is down, records the failure, and still signs in", async () => {
    await new TestBrowser().signInWithMicrosoft(megan.oid);
    expect((await contosoRoleOf(megan.oid))?.role).toBe("manager");
    await emulatorAdmin("faults", { endpoint: "memberOf", status: 503, times: 20 });
    const browser = new TestBrowser();
    expect((await browser.signInWithMicrosoft(megan.oid)).status).toBe(302);
    expect((await browser.page("/")).html).toContain("Welcome, Megan Bowen");
    expect((await contosoRoleOf(megan.oid))?.role).toBe("manager");
    expect((await decisionOf(megan.oid))?.rule).toBe("graph_failed");
    const audit = await env.DB.prepare(
      "select details from audit_events where action = 'entra.role_mapping_failed' order by id desc",
    ).first<{ details: string }>();
    expect(JSON.parse(audit!.details)).toMatchObject({ keptRole: "manager" });
  }, 20_000);

  it("gives a new user the default role when Graph is down", async () => {
    await emulatorAdmin("faults", { endpoint: "memberOf", status: 503, times: 20 });
    expect((await new TestBrowser().signInWithMicrosoft(alex.oid)).status).toBe(302);
    expect((await contosoRoleOf(alex.oid))?.role).toBe("member");
  }, 20_000);

  it("refreshes the token when Graph rejects the cached one mid sign-in", async () => {
    await emulatorAdmin("access-tokens/expire");
    await new TestBrowser().signInWithMicrosoft(alex.oid);
    expect((await contosoRoleOf(alex.oid))?.role).toBe("admin");
  });
});

describe("another tenant, another organization", () => {
  const roleIn = async (organizationId: string, userId: string) =>
    (
      await env.DB.prepare("select role from memberships where organization_id = ? and user_id = ?")
        .bind(organizationId, userId)
        .first<{ role: string }>()
    )?.role;
  const mappingAudit = () =>
    env.DB.prepare(
      "select count(*) as n from audit_events where action in ('entra.role_mapped', 'entra.role_mapping_failed')",
    ).first<number>("n");

  it("maps nothing for a person of another tenant (Casey, an Admin of Fabrikam, stays Admin)", async () => {
    // Were Contoso's mapping applied, it would decide for her (Member, the default, or "Graph
    // failed"): nothing may be decided, recorded or changed for a sign-in of Fabrikam's tenant.
    const casey = entraUser("casey");
    const { userId } = await linkMember("casey", { role: "admin", organizationId: DEMO_ORGS.fabrikam.id });
    expect((await new TestBrowser().signInWithMicrosoft(casey.oid)).status).toBe(302);
    expect(await roleIn(DEMO_ORGS.fabrikam.id, userId)).toBe("admin");
    expect(await decisionOf(casey.oid)).toBeNull();
    expect(await mappingAudit()).toBe(0);
  });

  it("changes only the connected organization's membership (Megan, also a Fabrikam Viewer, stays Viewer there)", async () => {
    const { userId } = await linkMember("megan", { role: "member" });
    await linkMember("megan", { role: "viewer", organizationId: DEMO_ORGS.fabrikam.id });
    expect((await new TestBrowser().signInWithMicrosoft(megan.oid)).status).toBe(302);
    expect(await roleIn(DEMO_ORGS.contoso.id, userId)).toBe("manager"); // UniAsset Managers, in Contoso
    expect(await roleIn(DEMO_ORGS.fabrikam.id, userId)).toBe("viewer");
    const audited = await env.DB.prepare("select organization_id from audit_events where action = 'entra.role_mapped'").all<{
      organization_id: string;
    }>();
    expect(audited.results).toEqual([{ organization_id: DEMO_ORGS.contoso.id }]);
  });
});
