// Role lowerings count together across real-time reads (issue 19), as deactivations do (issue 18,
// threshold.test.ts): 40 managers leave "UniAsset Managers" one by one and each leaving is read by
// a real-time read of its own (the read a /groups notification starts), replayed here slice by
// slice. With the default threshold (more than 10 % of the 42 linked members and more than 5), the
// first five slices apply, the sixth would cross the threshold and is held, and every slice after it
// adds to that one list: one Apply lowers the rest. A member whose groups change back leaves the list.
import { env } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, GROUP_IDS } from "../../demo/directory.ts";
import { createDb } from "../../src/db/client.ts";
import { findRoleSettings } from "../../src/db/groupTracking.ts";
import { insertRunUnlessRunning } from "../../src/db/syncRuns.ts";
import { applyGroupRoles, followGroupChanges } from "../../src/entra/sync/groupRoles.ts";
import { loadConfig } from "../../src/lib/config.ts";
import { mapGroup } from "../support/directory.ts";
import { connectContoso } from "../support/entra.ts";
import { createDirectoryUser, emulatorAdmin } from "../support/emulator.ts";
import { linkMember } from "../support/people.ts";
import { CONTOSO, membership, resetWorld } from "../sync/support.ts";

beforeEach(resetWorld);

/** One real-time read's role step, as the sync Workflow runs it (workflow.ts): decided, then applied in steps. */
async function realtimeSlice() {
  const db = createDb(env.DB);
  const runId = crypto.randomUUID();
  expect(await insertRunUnlessRunning(db, { id: runId, organizationId: CONTOSO, trigger: "realtime", now: Date.now() })).toBe(true);
  const run = { organizationId: CONTOSO, tenantId: CONTOSO_TENANT_ID, runId, trigger: "realtime" as const };
  const tokens = { accessToken: null, tenantId: null };
  const roles = await followGroupChanges(db, loadConfig(env), run, await findRoleSettings(db, CONTOSO), tokens, Date.now());
  expect(roles.ok).toBe(true);
  if (roles.ok && roles.toApply.length > 0) await applyGroupRoles(db, run, roles.toApply, roles.deltaLinkEnc, Date.now());
  await env.DB.prepare("update sync_runs set status = 'succeeded', finished_at = ? where id = ?").bind(Date.now(), runId).run();
  return { runId, held: roles.ok ? roles.held : 0, changed: roles.ok ? roles.changed : 0 };
}

const roles = async (people: { userId: string }[]) => Promise.all(people.map(async (p) => (await membership(p.userId))?.role));
const count = (values: (string | undefined)[], role: string) => values.filter((v) => v === role).length;

it("holds the slice that crosses the threshold and adds every later slice to its list: 40 slices, one Apply", async () => {
  await mapGroup(GROUP_IDS.uniassetManagers, "UniAsset Managers", "manager");
  const owner = await connectContoso(["auto-deprovision", "group-role-mapping"]);
  const people: { userId: string; subject: string }[] = [];
  for (let i = 1; i <= 40; i++) {
    const identity = await createDirectoryUser(`Manager ${i}`);
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members`, { oid: identity.subject });
    people.push(await linkMember(identity, { role: "manager" }));
  }
  const linked = await env.DB.prepare("select linked_active_members as n from entra_connections where organization_id = ?")
    .bind(CONTOSO)
    .first<{ n: number }>();
  expect(linked?.n).toBe(42); // Adele, Diego and the 40

  const slices = [];
  for (const person of people) {
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members/${person.subject}`, undefined, "DELETE");
    slices.push(await realtimeSlice());
  }
  // Five applied, one at a time; nothing past the threshold.
  expect(slices.slice(0, 5).map((s) => s.changed)).toEqual([1, 1, 1, 1, 1]);
  expect(slices.slice(5).every((s) => s.held === 1 && s.changed === 0)).toBe(true);
  const after = await roles(people);
  expect(count(after, "member")).toBe(5);
  expect(count(after, "manager")).toBe(35);
  // One list: the sixth slice's run holds all 35.
  const lists = await env.DB.prepare(
    "select run_id, count(*) as n from run_role_changes where organization_id = ? and state = 'held' group by run_id",
  )
    .bind(CONTOSO)
    .all<{ run_id: string; n: number }>();
  expect(lists.results).toEqual([{ run_id: slices[5]!.runId, n: 35 }]);

  // Manager 40 is put back in the group: the next read takes him off the list.
  await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members`, { oid: people[39]!.subject });
  await realtimeSlice();
  const page = await (await owner.get("/settings/integrations/entra/role-changes")).text();
  expect(page).toContain("Held: these role changes wait for you");
  expect(page).toContain("Manager 39");

  expect((await owner.post(`/settings/integrations/entra/role-changes/${slices[5]!.runId}/apply`, {})).status).toBe(303);
  const applied = await roles(people);
  expect(count(applied, "member")).toBe(39);
  expect(applied[39]).toBe("manager");

  // Applied by a person: those 34 are not reads' lowerings. The five the reads applied still count
  // for 24 hours, so one more lowering by a read is held again, on a list of its own.
  await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members/${people[39]!.subject}`, undefined, "DELETE");
  const next = await realtimeSlice();
  expect(next).toMatchObject({ held: 1, changed: 0 });
  expect((await roles(people))[39]).toBe("manager");
}, 120_000);
