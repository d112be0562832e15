// Issue 3's browser test: Adele connects Contoso, sees it Connected, flips each toggle on and
// off without a full reload, disconnects through the confirmation, and is back to not connected.
import assert from "node:assert/strict";
import { test } from "node:test";
import { signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

test("Adele connects Contoso, toggles each feature, and disconnects", async () => {
  const page = await e2e.browser.newPage();
  await signInWithMicrosoft(page, e2e.stack.appUrl, "adele@contoso.example", "Adele Vance");

  await page.getByRole("link", { name: "Settings", exact: true }).click();
  await page.getByRole("link", { name: "Integrations", exact: true }).click();
  await page.getByRole("link", { name: "Microsoft Entra ID" }).click();
  await page.getByRole("button", { name: "Connect Entra ID" }).click();

  // Microsoft's side: pick the Global Admin, then grant admin consent.
  await page.getByRole("button", { name: /adele@contoso\.example/ }).click();
  await page.getByRole("heading", { name: "Permissions requested" }).waitFor();
  await page.getByText("Read all users' full profiles").waitFor();
  await page.getByRole("button", { name: "Accept" }).click();

  await page.locator("#entra-status", { hasText: "Connected" }).waitFor();
  assert.equal(await page.locator("#entra-tenant").innerText(), "Contoso Ltd");
  assert.equal(await page.locator("#entra-domain").innerText(), "contoso.example");

  // htmx swaps each toggle in place: a marker on window survives, so no full reload happened.
  await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
  for (const label of ["Auto-provision users", "Auto-deprovision sync", "Group → Role mapping"]) {
    const toggle = page.getByRole("switch", { name: label });
    assert.equal(await toggle.getAttribute("aria-checked"), "false");
    await toggle.click();
    await page.getByRole("switch", { name: label, checked: true }).waitFor();
    await page.getByRole("switch", { name: label }).click();
    await page.getByRole("switch", { name: label, checked: false }).waitFor();
  }
  assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42);

  await page.getByRole("link", { name: "Disconnect" }).click();
  await page.getByText("Disconnecting removes the stored token and domain.").waitFor();
  await page.getByRole("button", { name: "Confirm disconnect" }).click();
  await page.locator("#entra-status", { hasText: "Not connected" }).waitFor();
  await page.getByRole("button", { name: "Connect Entra ID" }).waitFor();
  await page.close();
});
