// A directory sync run (nightly, Sync now, a real-time read) that Microsoft Graph throttles past the
// Graph client's retries sleeps, then reads the same page again (src/entra/sync/readLoop.ts).
// Meanwhile its run row says until when (paused_until, migrations/0032) and every view of a running
// run says why it stands still, with the words the import's progress uses (views/parts/graphPause.tsx);
// the next read that answers clears it, and so does the run's end.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { PATHS } from "../src/paths.ts";
import { emulatorAdmin, emulatorStats } from "./support/emulator.ts";
import { connectContoso } from "./support/entra.ts";
import { SLOW_DOWN, fragmentWhen, withoutSleeps } from "./support/workflows.ts";
import { CONTOSO, SYNC, nightlyRun, resetWorld, sectionWhenIdle } from "./sync/support.ts";

beforeEach(resetWorld);

const runRow = async (runId: string) =>
  env.DB.prepare("select status, mode, paused_until as pausedUntil from sync_runs where id = ?")
    .bind(runId)
    .first<{ status: string; mode: string | null; pausedUntil: number | null }>();

describe("Graph throttles a Sync now", () => {
  it("shows the pause on the run row and in the section, then reads the delta again and succeeds", { timeout: 30_000 }, async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    // A first run lists everyone and keeps a delta link: Sync now then reads the users delta.
    expect((await nightlyRun()).status).toBe("succeeded");
    // The run would sleep a minute: the test skips the waiting, not the logic.
    await using _ = await withoutSleeps(env.SYNC_WORKFLOW);
    // The delta read: 429 with a wait longer than the Graph client waits out, so the run pauses;
    // the read after the pause answers after 1.5 s, long enough to see the pause on the page.
    await emulatorAdmin("faults", { endpoint: "delta", status: 429, retryAfter: 3600, times: 1 });
    await emulatorAdmin("faults", { endpoint: "delta", delayMs: 1_500, times: 1 });
    await emulatorAdmin("stats/reset");
    const started = Date.now();
    expect((await adele.post(`${SYNC}/run`, {}, { htmx: true })).status).toBe(200);
    const runId = (await env.DB.prepare("select id from sync_runs where organization_id = ? and status = 'running'").bind(CONTOSO).first<{
      id: string;
    }>())!.id;

    const shown = await fragmentWhen(adele, SYNC, (html) => SLOW_DOWN.test(html), 10_000);
    expect(shown).toMatch(SLOW_DOWN);
    expect(shown).toContain("A sync is running");
    // Said once: the section's status line, not again in the history row below it.
    expect(shown.match(/asked us to slow down/g)).toHaveLength(1);
    const paused = await runRow(runId);
    expect(paused?.status).toBe("running");
    // THROTTLE_PAUSES' first pause: a minute from the throttled read.
    expect(paused?.pausedUntil).toBeGreaterThanOrEqual(started + 60_000);
    expect(paused?.pausedUntil).toBeLessThanOrEqual(Date.now() + 60_000);

    const done = await sectionWhenIdle(adele, 15_000);
    expect(done).not.toContain("slow down");
    expect(await runRow(runId)).toMatchObject({ status: "succeeded", mode: "delta", pausedUntil: null });
    expect((await emulatorStats()).requests.delta).toBe(2); // the throttled read, then the same read again
  });
});

describe("every view of a running sync run", () => {
  it("says Graph asked us to slow down: the section, the run history alone, a saved scope's run", async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    // A run the Workflow would be running, paused a minute from now (no instance: only the views read it).
    const runId = crypto.randomUUID();
    await env.DB.prepare(
      "insert into sync_runs (id, organization_id, trigger, status, started_at, paused_until) values (?, ?, 'sync_now', 'running', ?, ?)",
    )
      .bind(runId, CONTOSO, Date.now(), Date.now() + 60_000)
      .run();
    for (const path of [SYNC, `${SYNC}/runs`, `${PATHS.entraScope}/runs/${runId}`]) {
      const response = await adele.get(path, { "hx-request": "true" });
      expect(response.status, path).toBe(200);
      const html = await response.text();
      expect(html, path).toMatch(SLOW_DOWN);
      expect(html.match(/asked us to slow down/g), path).toHaveLength(1);
    }
    // Once a read answers, the pause is gone from the same views.
    await env.DB.prepare("update sync_runs set paused_until = null where id = ?").bind(runId).run();
    for (const path of [SYNC, `${SYNC}/runs`, `${PATHS.entraScope}/runs/${runId}`]) {
      expect(await (await adele.get(path, { "hx-request": "true" })).text(), path).not.toContain("slow down");
    }
    // A finished run never shows a pause, even one its row kept.
    await env.DB.prepare("update sync_runs set status = 'failed', error = 'throttled', paused_until = ? where id = ?")
      .bind(Date.now() + 60_000, runId)
      .run();
    for (const path of [SYNC, `${SYNC}/runs`, `${PATHS.entraScope}/runs/${runId}`]) {
      expect(await (await adele.get(path, { "hx-request": "true" })).text(), path).not.toContain("slow down");
    }
  });
});
