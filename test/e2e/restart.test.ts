// Issue 18, defect 5: restarting `npm start` broke the demo. Adele connects Contoso with
// Auto-deprovision on and runs Sync now; both Workers are stopped and started again on the same
// state, as Ctrl-C and a second `npm start` would. The page still says Connected, Sync now
// succeeds (a delta read with the kept grant, not "Needs reconnect"), and the kept subscription
// still brings a change made in Entra ID to the app in real time.
import assert from "node:assert/strict";
import { test } from "node:test";
import { entraUser } from "../../demo/directory.ts";
import { connectContosoAsAdele, signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

test("after a restart, Contoso is still connected and Sync now succeeds", async () => {
  const page = await e2e.browser.newPage();
  await signInWithMicrosoft(page, e2e.stack.appUrl, "adele@contoso.example", "Adele Vance");
  await connectContosoAsAdele(page, e2e.stack.appUrl);
  await page.getByRole("switch", { name: "Auto-deprovision sync" }).click();
  await page.getByRole("switch", { name: "Auto-deprovision sync", checked: true }).waitFor();
  await page.reload();
  await page.locator("#sync-realtime", { hasText: "Real-time updates: active" }).waitFor();
  await page.locator("#entra-sync").getByRole("button", { name: "Sync now" }).click();
  const history = page.locator("#sync-history");
  await history.locator("tr", { hasText: "Sync now (full)" }).filter({ hasText: "Succeeded" }).waitFor({ timeout: 30_000 });

  await e2e.stack.restart();

  // The same browser: its session is in the app's D1, which kept it too.
  await page.goto(`${e2e.stack.appUrl}/settings/integrations/entra`);
  await page.locator("#entra-status", { hasText: "Connected" }).waitFor();
  await page.locator("#sync-realtime", { hasText: "Real-time updates: active" }).waitFor();
  await page.locator("#entra-sync").getByRole("button", { name: "Sync now" }).click();
  await history.locator("tr", { hasText: "Sync now (delta)" }).filter({ hasText: "Succeeded" }).waitFor({ timeout: 30_000 });
  assert.doesNotMatch(await page.locator("main").innerText(), /Needs reconnect/);

  // Diego, deactivated by the first run, is enabled in Entra ID: Graph's change notification on the
  // kept subscription starts a real-time read, which reactivates him.
  const enabled = await fetch(`${e2e.stack.emulatorUrl}/_emulator/users/${entraUser("diego").oid}/enable`, { method: "POST" });
  assert.equal(enabled.status, 200);
  const deadline = Date.now() + 30_000;
  for (;;) {
    await page.goto(`${e2e.stack.appUrl}/users`);
    const row = await page.locator("tr", { hasText: "Diego Siciliani" }).innerText();
    if (/Active/.test(row) && !/Deactivated/.test(row)) break;
    assert.ok(Date.now() < deadline, `Diego not reactivated 30 s after being enabled: ${row}`);
    await page.waitForTimeout(500);
  }
  await page.goto(`${e2e.stack.appUrl}/settings/integrations/entra`);
  assert.match(await history.innerText(), /Real-time update/);
  await page.close();
});
