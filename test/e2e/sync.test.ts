// Issue 5's browser test: Diego is active; Adele connects Contoso, turns on Auto-deprovision and
// clicks "Sync now"; the section updates itself until the run is done; Diego shows as deactivated
// on Users, and the run is in the history.
import assert from "node:assert/strict";
import { test } from "node:test";
import { connectContosoAsAdele, signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

test("Adele runs Sync now and Diego, disabled in Entra ID, is deactivated", async () => {
  const page = await e2e.browser.newPage();
  await signInWithMicrosoft(page, e2e.stack.appUrl, "adele@contoso.example", "Adele Vance");

  await page.goto(`${e2e.stack.appUrl}/users`);
  const diegoRow = page.locator("tr", { hasText: "Diego Siciliani" });
  await diegoRow.waitFor();
  assert.match(await diegoRow.innerText(), /Active/);

  await connectContosoAsAdele(page, e2e.stack.appUrl);

  await page.getByRole("switch", { name: "Auto-deprovision sync" }).click();
  await page.getByRole("switch", { name: "Auto-deprovision sync", checked: true }).waitFor();
  // The section was loaded while the feature was off; reload it to get an enabled "Sync now".
  await page.reload();
  await page.locator("#sync-next", { hasText: "Next scheduled run:" }).waitFor();
  await page.locator("#entra-sync").getByRole("button", { name: "Sync now" }).click();

  const history = page.locator("#sync-history");
  await history.locator("tr", { hasText: "Succeeded" }).waitFor({ timeout: 30_000 });
  const row = await history.locator("tbody tr").first().innerText();
  assert.match(row, /Sync now \(full\)/);
  assert.match(row, /\b1\b/);

  await page.goto(`${e2e.stack.appUrl}/users`);
  assert.match(await page.locator("tr", { hasText: "Diego Siciliani" }).innerText(), /Deactivated by directory sync/);
  await page.close();
});
