// Issue 2's browser test: Adele signs in through the emulator's page, opens Settings →
// Integrations, sees Microsoft Entra ID, and signs out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

test("Adele signs in with Microsoft, finds Microsoft Entra ID under Settings → Integrations, signs out", async () => {
  const page = await e2e.browser.newPage();
  const csp: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) csp.push(message.text());
  });

  await page.goto(e2e.stack.appUrl);
  assert.match(page.url(), /\/sign-in$/);
  await page.getByRole("link", { name: "Sign in with Microsoft" }).click();

  await page.getByRole("heading", { name: "Pick an account" }).waitFor();
  await page.getByRole("button", { name: /adele@contoso\.example/ }).click();

  await page.getByRole("heading", { name: "Welcome, Adele Vance" }).waitFor();
  await page.getByRole("link", { name: "Settings", exact: true }).click();
  await page.getByRole("link", { name: "Integrations", exact: true }).click();
  await page.getByRole("link", { name: "Microsoft Entra ID" }).waitFor();
  // Integrations lists Entra ID and SCIM provisioning, each a card of its own.
  assert.match(await page.locator(".integration", { hasText: "Microsoft Entra ID" }).innerText(), /Not connected/);

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in to UniAsset" }).waitFor();
  await page.goto(`${e2e.stack.appUrl}/users`);
  assert.match(page.url(), /\/sign-in$/);
  assert.deepEqual(csp, [], "the page violated its Content-Security-Policy");
  await page.close();
});
