// An import, a sync scope preview or a preview of the next run that Microsoft Graph throttles past
// the Graph client's retries sleeps, then reads the same page again (src/entra/import/workflow.ts).
// Meanwhile its row says until when (paused_until, migrations/0031) and every progress view that
// polls the row says why the bar stands still; the next read that answers clears it.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { PATHS } from "../src/paths.ts";
import { DEMO_ORGS } from "../demo/seed.ts";
import { countOf, postImport, stillRunning, IMPORT } from "./support/imports.ts";
import { emulatorAdmin, emulatorStats } from "./support/emulator.ts";
import { connectContoso } from "./support/entra.ts";
import { SLOW_DOWN, fragmentWhen, withoutSleeps } from "./support/workflows.ts";
import { resetDemoWorld } from "./support/world.ts";

const CONTOSO = DEMO_ORGS.contoso.id;

beforeEach(resetDemoWorld);

const pausedUntil = async () =>
  (
    await env.DB.prepare("select paused_until as until from directory_imports where organization_id = ?").bind(CONTOSO).first<{
      until: number | null;
    }>()
  )?.until ?? null;

describe("Graph throttles an import preview", () => {
  it("shows the pause on the row and in the progress, then reads the page again and finishes", { timeout: 30_000 }, async () => {
    const adele = await connectContoso();
    // The Workflow would sleep a minute: the test skips the waiting, not the logic.
    await using _ = await withoutSleeps(env.IMPORT_WORKFLOW);
    // The first page: 429 with a wait longer than the Graph client waits out, so the run pauses;
    // the read after the pause answers after 1.5 s, long enough to see the pause on the page.
    await emulatorAdmin("faults", { endpoint: "users", status: 429, retryAfter: 3600, times: 1 });
    await emulatorAdmin("faults", { endpoint: "users", delayMs: 1_500, times: 1 });
    await emulatorAdmin("stats/reset");
    const started = Date.now();
    expect((await postImport(adele, "preview", [["scope", "all"]])).status).toBe(200);

    const shown = await fragmentWhen(adele, `${IMPORT}/progress`, (html) => SLOW_DOWN.test(html), 10_000);
    expect(shown).toMatch(SLOW_DOWN);
    expect(stillRunning(shown)).toBe(true);
    const until = await pausedUntil();
    // THROTTLE_PAUSES' first pause: a minute from when it was recorded.
    expect(until).toBeGreaterThanOrEqual(started + 60_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 60_000);

    const done = await fragmentWhen(adele, `${IMPORT}/progress`, (html) => !stillRunning(html), 15_000);
    expect(countOf(done, "new")).toBe(3);
    expect(done).not.toContain("slow down");
    expect(await pausedUntil()).toBeNull();
    expect((await emulatorStats()).requests.users).toBe(2); // the throttled page, then the same page again
  });
});

describe("every progress view that polls a directory_imports row", () => {
  // A row the Workflow would be running, paused a minute from now (no instance: only the view is read).
  async function pausedRow(phase: "scope" | "next_run" | "preview") {
    await env.DB.prepare(
      `insert into directory_imports (id, organization_id, phase, status, scope, started_at, paused_until)
       values (?, ?, ?, 'running', ?, ?, ?)`,
    )
      .bind(
        crypto.randomUUID(),
        CONTOSO,
        phase,
        phase === "scope" ? '{"mode":"domains","groupIds":[],"domains":["contoso.example"]}' : '{"scope":"all"}',
        Date.now(),
        Date.now() + 60_000,
      )
      .run();
  }

  it("says Graph asked us to slow down: Import, Sync scope preview, Preview the next run", async () => {
    const adele = await connectContoso();
    for (const [phase, path] of [
      ["preview", `${IMPORT}/progress`],
      ["scope", `${PATHS.entraScope}/preview/progress`],
      ["next_run", `${PATHS.entraMapping}/next-run`],
    ] as const) {
      await env.DB.prepare("delete from directory_imports").run();
      await pausedRow(phase);
      const response = await adele.get(path, { "hx-request": "true" });
      expect(response.status, path).toBe(200);
      const html = await response.text();
      expect(html, path).toMatch(SLOW_DOWN);
      expect(stillRunning(html), path).toBe(true);
      // Once the read answers, the pause is gone from the same view.
      await env.DB.prepare("update directory_imports set paused_until = null").run();
      expect(await (await adele.get(path, { "hx-request": "true" })).text(), path).not.toContain("slow down");
    }
    // No instance runs these rows: the file's end must not look for one (test/support/fileIsolation.ts).
    await env.DB.prepare("delete from directory_imports").run();
  });
});
