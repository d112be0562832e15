// Issue 19's browser test: Adele connects Contoso with Auto-provision, Auto-deprovision sync (real-time
// updates) and Group → Role mapping, and maps "UniAsset Admins" → Admin and "UniAsset Managers" →
// Manager. Alex (Admin through "IT Staff", nested in "UniAsset Admins") is removed from "IT Staff" in
// the emulator: with no sign-in and no Sync now he is a Member within 60 s, and his open tab can no
// longer reach Settings. Then a change that lowers most roles at once is held until Adele applies it.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { entraUser, GROUP_IDS } from "../../demo/directory.ts";
import { connectContosoAsAdele, signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

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

async function emulator(path: string, method: "POST" | "DELETE", body?: unknown) {
  const response = await fetch(`${e2e.stack.emulatorUrl}/_emulator/${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert.equal(response.status, 200, await response.text());
}

/** The role the Users page shows for a member: the selected option of the row's role control. */
async function roleOnUsersPage(page: Page, name: string): Promise<string> {
  await page.goto(`${e2e.stack.appUrl}/users`);
  return page.locator("tr", { hasText: name }).locator("select[name=role]").inputValue();
}

test("Alex leaves IT Staff in Entra ID: a Member within 60 s, and his open tab loses Settings", async () => {
  const admin = await e2e.browser.newContext();
  const page = await admin.newPage();
  await signInWithMicrosoft(page, e2e.stack.appUrl, "adele@contoso.example", "Adele Vance");
  await connectContosoAsAdele(page, e2e.stack.appUrl);
  for (const label of ["Auto-provision users", "Auto-deprovision sync", "Group → Role mapping"]) {
    await page.getByRole("switch", { name: label }).click();
    await page.getByRole("switch", { name: label, checked: true }).waitFor();
  }
  await mapGroup(page, "UniAsset Admins", "Admin");
  await mapGroup(page, "UniAsset Managers", "Manager");

  const alexsBrowser = await e2e.browser.newContext();
  const alex = await alexsBrowser.newPage();
  await signInWithMicrosoft(alex, e2e.stack.appUrl, "alex@contoso.example", "Alex Wilber");
  const meganBrowser = await e2e.browser.newContext();
  await signInWithMicrosoft(await meganBrowser.newPage(), e2e.stack.appUrl, "megan@contoso.example", "Megan Bowen");
  const settings = await alex.goto(`${e2e.stack.appUrl}/settings/integrations/entra`);
  assert.equal(settings?.status(), 200, "Alex, an Admin, reaches Settings");

  await emulator(`groups/${GROUP_IDS.itStaff}/members/${entraUser("alex").oid}`, "DELETE");
  const removedAt = Date.now();
  // Nobody signs in or presses Sync now: the /groups notification starts the read.
  for (;;) {
    const again = await alex.goto(`${e2e.stack.appUrl}/settings/integrations/entra`);
    if (again?.status() === 403) break;
    assert.ok(Date.now() - removedAt < 60_000, "Alex still reaches Settings 60 s after leaving IT Staff");
    await alex.waitForTimeout(500);
  }
  assert.equal(await roleOnUsersPage(page, "Alex Wilber"), "member");
  assert.equal(await roleOnUsersPage(page, "Megan Bowen"), "manager");
  await page.goto(`${e2e.stack.appUrl}/settings/integrations/entra/role-changes`);
  const applied = page.locator(".role-run.applied", { hasText: "Alex Wilber" });
  assert.match(await applied.innerText(), /Admin\s+Member\s+In no mapped group: the default role/);

  // A run that lowers most roles at once is held: with a threshold of 10 % and more than 0 members,
  // Megan and Alex (back in IT Staff first, a promotion) leaving their groups is held.
  await page.goto(`${e2e.stack.appUrl}/settings/integrations/entra`);
  await page.getByLabel("Minimum members").fill("0");
  await page.getByRole("button", { name: "Save threshold" }).click();
  await page.locator("#sync-threshold input[name=minimum][value='0']").waitFor();
  await emulator(`groups/${GROUP_IDS.itStaff}/members`, "POST", { oid: entraUser("alex").oid });
  for (const deadline = Date.now() + 30_000; (await roleOnUsersPage(page, "Alex Wilber")) !== "admin"; ) {
    assert.ok(Date.now() < deadline, "Alex is not Admin again 30 s after rejoining IT Staff");
    await page.waitForTimeout(500);
  }
  await emulator(`groups/${GROUP_IDS.itStaff}/members/${entraUser("alex").oid}`, "DELETE");
  await emulator(`groups/${GROUP_IDS.uniassetManagers}/members/${entraUser("megan").oid}`, "DELETE");
  const rolesPage = `${e2e.stack.appUrl}/settings/integrations/entra/role-changes`;
  for (const deadline = Date.now() + 30_000; ; ) {
    await page.goto(rolesPage);
    const held = await page.locator(".role-run.held").allInnerTexts();
    if (held.some((t) => /Megan Bowen/.test(t)) && held.some((t) => /Alex Wilber/.test(t))) break;
    assert.ok(Date.now() < deadline, "Megan's and Alex's lowered roles are not held 30 s after they left their groups");
    await page.waitForTimeout(500);
  }
  assert.match((await page.locator(".role-run.held").allInnerTexts()).join("\n"), /Megan Bowen[\s\S]*Manager\s+Member/);
  assert.equal(await roleOnUsersPage(page, "Megan Bowen"), "manager");
  assert.equal(await roleOnUsersPage(page, "Alex Wilber"), "admin");
  await page.goto(rolesPage);
  while ((await page.locator(".role-run.held").count()) > 0) {
    await page.locator(".role-run.held").first().getByRole("button", { name: "Apply" }).click();
    await page.getByRole("heading", { name: "Role changes from Microsoft Entra ID" }).waitFor();
  }
  assert.equal(await roleOnUsersPage(page, "Megan Bowen"), "member");
  assert.equal(await roleOnUsersPage(page, "Alex Wilber"), "member");
  await alexsBrowser.close();
  await meganBrowser.close();
  await admin.close();
});

test("Megan renamed and moved to Finance in Entra ID: the Users page and its department filter follow", async () => {
  // The first test left Contoso connected with real-time updates on, and Megan signed in once.
  const admin = await e2e.browser.newContext();
  const page = await admin.newPage();
  await signInWithMicrosoft(page, e2e.stack.appUrl, "adele@contoso.example", "Adele Vance");
  const patched = await fetch(`${e2e.stack.emulatorUrl}/_emulator/users/${entraUser("megan").oid}`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ displayName: "Megan Bowen-Smith", department: "Finance", jobTitle: "Finance Manager" }),
  });
  assert.equal(patched.status, 200);
  // Nobody presses Sync now: the users notification starts the read that keeps her profile.
  for (const deadline = Date.now() + 30_000; ; ) {
    await page.goto(`${e2e.stack.appUrl}/users`);
    if ((await page.locator("tr", { hasText: "Megan Bowen-Smith" }).count()) > 0) break;
    assert.ok(Date.now() < deadline, "Megan's new name is not on the Users page 30 s after the change");
    await page.waitForTimeout(500);
  }
  const row = await page.locator("tr", { hasText: "Megan Bowen-Smith" }).innerText();
  assert.match(row, /Finance\s+Finance Manager/);
  await page.getByLabel("Department").fill("Finance");
  await page.waitForURL(/department=Finance/);
  await page.locator("#member-list tr", { hasText: "Megan Bowen-Smith" }).waitFor();
  assert.equal(await page.locator("#member-list tr", { hasText: "Alex Wilber" }).count(), 0);
  assert.equal(await page.locator("#member-list tbody tr").count(), 1);
  await admin.close();
});
