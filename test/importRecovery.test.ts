// A row left 'running' by an import's Workflow instance that died before its end() (over its step
// limit, terminated, errored, never created) would refuse every Import, scope preview and next-run
// preview for a day. A start refused for it asks the Workflow about that instance first
// (src/entra/import/start.ts): over or gone, the row is closed as failed, its scratch rows go, and
// the start goes ahead. (An instance that still runs keeps the slot: test/bulkImport.test.ts.)
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { DEMO_ORGS } from "../demo/seed.ts";
import { IMPORT, awaitImport, countOf, postImport } from "./support/imports.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { connectContoso } from "./support/entra.ts";
import { resetDemoWorld } from "./support/world.ts";

const CONTOSO = DEMO_ORGS.contoso.id;

beforeEach(resetDemoWorld);

const importRow = (id: string) =>
  env.DB.prepare("select status, error from directory_imports where id = ?").bind(id).first<{ status: string; error: string | null }>();
const scratchOf = async (id: string) =>
  (await env.DB.prepare("select count(*) as n from directory_import_people where import_id = ?").bind(id).first<{ n: number }>())?.n;
const runningId = async () =>
  (
    await env.DB.prepare("select id from directory_imports where organization_id = ? and status = 'running'")
      .bind(CONTOSO)
      .first<{ id: string }>()
  )?.id;

/** Scratch rows as a run leaves them behind: members of a mapped group, counted. */
async function leaveScratch(importId: string, rows: number) {
  await env.DB.prepare(
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
     insert into directory_import_people (import_id, oid, mapped, listed)
     select ?, printf('00000000-0000-4000-8000-%012d', i), ',11111111-1111-4111-8111-111111111111,', 1 from n`,
  )
    .bind(rows, importId)
    .run();
}

/** A row the Workflow would be running, started `ago` ms ago, whose instance was never created. */
async function rowWithoutInstance(ago: number) {
  const id = crypto.randomUUID();
  await env.DB.prepare(
    `insert into directory_imports (id, organization_id, phase, status, scope, started_at) values (?, ?, 'preview', 'running', '{"scope":"all"}', ?)`,
  )
    .bind(id, CONTOSO, Date.now() - ago)
    .run();
  return id;
}

describe("a start refused for a running import", () => {
  it("whose instance was terminated: closes it as failed, clears its scratch rows, and starts", { timeout: 30_000 }, async () => {
    const adele = await connectContoso();
    // The first page of users answers after 5 s: the preview is still reading when it is terminated.
    await emulatorAdmin("faults", { endpoint: "users", delayMs: 5_000, times: 1 });
    expect((await postImport(adele, "preview", [["scope", "all"]])).status).toBe(200);
    const stuck = await runningId();
    if (!stuck) throw new Error("the preview is not running");
    await leaveScratch(stuck, 12_000);

    const instance = await env.IMPORT_WORKFLOW.get(stuck);
    await instance.terminate();
    for (const until = Date.now() + 10_000; (await instance.status()).status !== "terminated"; ) {
      if (Date.now() > until) throw new Error("the instance is not terminated");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Its end() never ran: the row still says running, and its scratch rows are there.
    expect(await importRow(stuck)).toEqual({ status: "running", error: null });
    expect(await scratchOf(stuck)).toBe(12_000);

    const again = await postImport(adele, "preview", [["scope", "all"]]);
    expect(again.status).toBe(200);
    expect(await importRow(stuck)).toEqual({ status: "failed", error: "internal" });
    expect(await scratchOf(stuck)).toBe(0);
    const fresh = await runningId();
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(stuck);
    const html = await awaitImport(adele);
    expect(countOf(html, "new")).toBe(3);
  });

  it("whose instance does not exist: starts once the row is older than a start takes to create one", async () => {
    const adele = await connectContoso();
    const fresh = await rowWithoutInstance(5_000);
    // Written a moment ago: its instance may be on its way, so the start is refused.
    expect((await postImport(adele, "preview", [["scope", "all"]])).status).toBe(409);
    expect(await importRow(fresh)).toEqual({ status: "running", error: null });
    await env.DB.prepare("update directory_imports set started_at = ? where id = ?")
      .bind(Date.now() - 2 * 60_000, fresh)
      .run();
    await leaveScratch(fresh, 10);

    expect((await postImport(adele, "preview", [["scope", "all"]])).status).toBe(200);
    expect(await importRow(fresh)).toEqual({ status: "failed", error: "internal" });
    expect(await scratchOf(fresh)).toBe(0);
    expect(countOf(await awaitImport(adele), "new")).toBe(3);
    // The section never named the dead row as the latest: the page shows the new preview.
    expect(await (await adele.get(IMPORT, { "hx-request": "true" })).text()).toContain("Import 3 users");
  });
});
