// Issue 4's browser test: Adele connects Contoso, turns on Auto-provision and Group → Role
// mapping, maps "UniAsset Admins" → Admin and "UniAsset Managers" → Manager through the editor
// (search, preview, Save); then Megan signs in with Microsoft for the first time and has
// Manager rights.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
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

async function signInWithMicrosoft(page: Page, account: RegExp, name: string) {
  await page.goto(`${stack.appUrl}/sign-in`);
  await page.getByRole("link", { name: "Sign in with Microsoft" }).click();
  await page.getByRole("button", { name: account }).click();
  await page.getByRole("heading", { name: `Welcome, ${name}` }).waitFor();
}

async function mapGroup(page: Page, group: string, role: string) {
  const editor = page.locator("#entra-mapping");
  await editor.getByLabel("Search groups").fill(group.split(" ")[0]!.slice(0, 6));
  await editor.getByRole("radio", { name: group }).check();
  await editor.locator("#mapping-role").selectOption({ label: role });
  await editor.locator("#add-mapping").getByRole("button", { name: "Preview" }).click();
  await editor.getByText(`Add mapping: ${group} → ${role}`).waitFor();
  await editor.getByRole("button", { name: "Save" }).click();
  await editor.locator("#mapping-list tr", { hasText: group }).getByText(role, { exact: true }).waitFor();
}

test("Adele maps the two groups; Megan signs in and has Manager rights", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signInAsAdeleAndConnect(page);

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

  const meganContext = await browser.newContext();
  const megan = await meganContext.newPage();
  await signInWithMicrosoft(megan, /megan@contoso\.example/, "Megan Bowen");
  await megan.getByText("You are signed in to").getByText("Manager", { exact: true }).waitFor();
  await megan.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users", exact: true }).click();
  await megan.getByRole("heading", { name: "Users" }).waitFor();
  // A Manager sees people but none of the Owner/Admin controls.
  assert.equal(await megan.getByRole("button", { name: "Save role" }).count(), 0);
  assert.equal(await megan.getByRole("button", { name: "Send invitation" }).count(), 0);
  assert.equal(await megan.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings", exact: true }).count(), 0);
  const settings = await megan.goto(`${stack.appUrl}/settings/integrations/entra`);
  assert.equal(settings?.status(), 403);
  await meganContext.close();
});

async function signInAsAdeleAndConnect(page: Page) {
  await signInWithMicrosoft(page, /adele@contoso\.example/, "Adele Vance");
  await page.goto(`${stack.appUrl}/settings/integrations/entra`);
  await page.getByRole("button", { name: "Connect Entra ID" }).click();
  await page.getByRole("button", { name: /adele@contoso\.example/ }).click();
  await page.getByRole("heading", { name: "Permissions requested" }).waitFor();
  await page.getByRole("button", { name: "Accept" }).click();
  await page.locator("#entra-status", { hasText: "Connected" }).waitFor();
}
