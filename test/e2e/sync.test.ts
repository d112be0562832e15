// Issue 5's browser test: Diego is active; Adele connects Contoso, turns on Auto-deprovision and
// clicks "Sync now"; the section updates itself until the run is done; Diego shows as deactivated
// on Users, and the run is in the history.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser, startStack, type E2EStack } from "./harness.ts";

let stack: E2EStack;
let browser: Browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("Adele runs Sync now and Diego, disabled in Entra ID, is deactivated", async () => {
  const page = await browser.newPage();
  await page.goto(`${stack.appUrl}/sign-in`);
  await page.getByRole("link", { name: "Sign in with Microsoft" }).click();
  await page.getByRole("button", { name: /adele@contoso\.example/ }).click();
  await page.getByRole("heading", { name: "Welcome, Adele Vance" }).waitFor();

  await page.goto(`${stack.appUrl}/users`);
  const diegoRow = page.locator("tr", { hasText: "Diego Siciliani" });
  await diegoRow.waitFor();
  assert.match(await diegoRow.innerText(), /Active/);

  await page.goto(`${stack.appUrl}/settings/integrations/entra`);
  await page.getByRole("button", { name: "Connect Entra ID" }).click();
  await page.getByRole("button", { name: /adele@contoso\.example/ }).click();
  await page.getByRole("button", { name: "Accept" }).click();
  await page.locator("#entra-status", { hasText: "Connected" }).waitFor();

  await page.getByRole("switch", { name: "Auto-deprovision sync" }).click();
  await page.getByRole("switch", { name: "Auto-deprovision sync", checked: true }).waitFor();
  // The section was loaded while the feature was off; reload it to get an enabled "Sync now".
  await page.reload();
  await page.locator("#sync-next", { hasText: "Next scheduled run:" }).waitFor();
  await page.getByRole("button", { name: "Sync now" }).click();

  const history = page.locator("#sync-history");
  await history.locator("tr", { hasText: "Succeeded" }).waitFor({ timeout: 30_000 });
  const row = await history.locator("tbody tr").first().innerText();
  assert.match(row, /Sync now \(full\)/);
  assert.match(row, /\b1\b/);

  await page.goto(`${stack.appUrl}/users`);
  assert.match(await page.locator("tr", { hasText: "Diego Siciliani" }).innerText(), /Deactivated by directory sync/);
  await page.close();
});
