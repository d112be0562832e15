// Issue 4's browser test: Adele connects Contoso, turns on Auto-provision and Group → Role
// mapping, maps "UniAsset Admins" → Admin and "UniAsset Managers" → Manager through the editor
// (search, preview, Save); then Megan signs in with Microsoft for the first time and has
// Manager rights.
import assert from "node:assert/strict";
import { test } from "node:test";
import { connectContosoAsAdele, mapGroup, signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

test("Adele maps the two groups; Megan signs in and has Manager rights", async () => {
  const context = await e2e.browser.newContext();
  const page = await context.newPage();
  await signInWithMicrosoft(page, e2e.stack.appUrl, "adele@contoso.example", "Adele Vance");
  await connectContosoAsAdele(page, e2e.stack.appUrl);

  for (const label of ["Auto-provision users", "Group → Role mapping"]) {
    await page.getByRole("switch", { name: label }).click();
    await page.getByRole("switch", { name: label, checked: true }).waitFor();
  }

  await page.locator("#entra-mapping").getByText("No groups are mapped yet").waitFor();
  await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 7));
  await mapGroup(page, "UniAsset Admins", "Admin");
  await mapGroup(page, "UniAsset Managers", "Manager");
  // The editor works in place (htmx): no full page load happened.
  assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 7);
  // A reload shows the stored mappings with their directory names.
  await page.reload();
  const list = page.locator("#mapping-list");
  await list.getByText("UniAsset Admins").waitFor();
  await list.getByText("UniAsset Managers").waitFor();
  await context.close();

  const meganContext = await e2e.browser.newContext();
  const megan = await meganContext.newPage();
  await signInWithMicrosoft(megan, e2e.stack.appUrl, "megan@contoso.example", "Megan Bowen");
  await megan.getByText("You are signed in to").getByText("Manager", { exact: true }).waitFor();
  await megan.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users", exact: true }).click();
  await megan.getByRole("heading", { name: "Users" }).waitFor();
  // A Manager sees people but none of the Owner/Admin controls.
  assert.equal(await megan.getByRole("button", { name: "Save role" }).count(), 0);
  assert.equal(await megan.getByRole("button", { name: "Send invitation" }).count(), 0);
  assert.equal(await megan.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings", exact: true }).count(), 0);
  const settings = await megan.goto(`${e2e.stack.appUrl}/settings/integrations/entra`);
  assert.equal(settings?.status(), 403);
  await meganContext.close();
});
