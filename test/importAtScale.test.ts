// Import at any size (issue 20): a directory of more than 100,000 users, which Import used to
// refuse, is previewed by the import Workflow page by page; while it runs the Import section shows
// a progress bar with the users read so far, polled by htmx and read from D1 (so a reload shows it),
// and no step passes Workers' 1,000 D1 queries. The emulator's synthetic tenant computes its users
// from their index, so the directory costs the test no setup.
import { env } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import type { ImportOutput } from "../src/entra/import/workflow.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { IMPORT, awaitImport, connectSyntheticTenant, countOf, postImport, stillRunning } from "./support/imports.ts";
import { resetDemoWorld } from "./support/world.ts";

const USERS = 100_500;

beforeEach(resetDemoWorld);

it(`previews a ${USERS}-user directory, past the old 100,000 cap, with its progress shown while it runs`, {
  timeout: 240_000,
}, async () => {
  const { adele } = await connectSyntheticTenant(USERS);

  // Graph answers the first pages slowly, so the test sees the import part-way (it reads 1,000 pages a few seconds otherwise).
  await emulatorAdmin("faults", { endpoint: "users", delayMs: 300, times: 8 });
  const started = await postImport(adele, "preview", [["scope", "all"]]);
  expect(started.status).toBe(200);
  // The progress fragment polls itself every 2 seconds while the import runs.
  expect(started.html).toContain('hx-get="/settings/integrations/entra/import/progress"');
  expect(started.html).toContain('hx-trigger="every 2s"');
  expect(started.html).toContain("<progress");

  // Part-way, the counts grow; the section itself (a reload) shows the same progress.
  let seenPartWay = false;
  for (let i = 0; i < 2_000 && !seenPartWay; i++) {
    const html = await (await adele.get(`${IMPORT}/progress`, { "hx-request": "true" })).text();
    const read = Number(/data-count="read">(\d+)</.exec(html)?.[1] ?? "0");
    if (stillRunning(html) && read > 0 && read < USERS) {
      seenPartWay = true;
      const section = await (await adele.get(IMPORT, { "hx-request": "true" })).text();
      expect(section).toContain('aria-busy="true"');
      expect(section).toContain("directory users read so far");
    }
    if (!stillRunning(html)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(seenPartWay, "the progress fragment showed the import part-way").toBe(true);

  const html = await awaitImport(adele, 200_000);
  expect(html).toContain(`${USERS} directory users read`);
  // Every 100th user is disabled; everyone else is new (Adele connected the tenant as its admin, not as herself).
  const disabled = Math.floor(USERS / 100);
  expect(countOf(html, "disabled")).toBe(disabled);
  expect(countOf(html, "new")).toBe(USERS - disabled);
  expect(html).toContain(`Import ${USERS - disabled} users`);

  const { id } = (await env.DB.prepare("select id from directory_imports").first<{ id: string }>())!;
  const output = (await (await env.IMPORT_WORKFLOW.get(id)).status()).output as ImportOutput;
  expect(output.usersRead).toBe(USERS);
  expect(output.maxD1StatementsPerStep).toBeLessThanOrEqual(1_000);
  // A preview writes no member and leaves no scratch rows.
  expect(await env.DB.prepare("select count(*) as n from directory_import_people").first<number>("n")).toBe(0);
});
