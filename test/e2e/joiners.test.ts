// Issue 20's browser tests, in real Chromium against the app and the emulator: the sync scope
// ("UniAsset Managers": Megan is provisioned at sign-in, Alex refused), a domain unticked (the
// preview, a Workflow run the page polls, names who leaves; Apply's directory sync deactivates them), and Add new people automatically (a person
// created in Entra is on the Users page as "Not signed in yet" within 60 seconds).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { CONTOSO_TENANT_ID } from "../../demo/directory.ts";
import { connectContosoAsAdele, signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();
let adele: Page;

async function signInAs(browser: Browser, email: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${e2e.stack.appUrl}/sign-in`);
  await page.getByRole("link", { name: "Sign in with Microsoft" }).click();
  await page.getByRole("button", { name: new RegExp(email.replaceAll(".", "\\.")) }).click();
  return page;
}

async function entraPage() {
  await adele.goto(`${e2e.stack.appUrl}/settings/integrations/entra`);
  await adele.locator("#scope-form").waitFor();
}

async function previewAndApply() {
  await adele.getByRole("button", { name: "Preview the change" }).click();
  await adele.locator("#scope-preview-result").waitFor();
  const preview = await adele.locator("#scope-preview-result").innerText();
  await adele.getByRole("button", { name: "Apply this scope" }).click();
  await adele.locator("#scope-result", { hasText: "Sync scope saved." }).waitFor();
  // Saving starts the directory sync that applies the scope; the section follows it until it ends.
  await adele.locator('#scope-result:not([aria-busy="true"])').waitFor();
  return preview;
}

test("with the scope 'UniAsset Managers', Megan is provisioned at sign-in and Alex is refused", async () => {
  adele = await (await e2e.browser.newContext()).newPage();
  await signInWithMicrosoft(adele, e2e.stack.appUrl, "adele@contoso.example", "Adele Vance");
  await connectContosoAsAdele(adele, e2e.stack.appUrl);
  await adele.getByRole("switch", { name: "Auto-provision users" }).click();
  await adele.getByRole("switch", { name: "Auto-provision users", checked: true }).waitFor();
  await entraPage();
  // Every verified domain is listed; the initial onmicrosoft.com one is not chosen.
  assert.equal(await adele.locator('#entra-scope input[name="domains"][value="contoso-uk.example"]').isChecked(), true);
  assert.equal(await adele.locator('#entra-scope input[name="domains"][value="contoso.onmicrosoft.com"]').isChecked(), false);

  await adele.getByLabel(/Only members of these groups/).check();
  await adele.locator("#scope-group-search").fill("UniAsset");
  await adele.locator("#scope-group-results").getByLabel("UniAsset Managers").check();
  const preview = await previewAndApply();
  assert.match(preview, /Only members of UniAsset Managers/);

  const megan = await signInAs(e2e.browser, "megan@contoso.example");
  await megan.getByRole("heading", { name: "Welcome, Megan Bowen" }).waitFor();
  const alex = await signInAs(e2e.browser, "alex@contoso.example");
  await alex.getByText("directory does not include you in UniAsset").waitFor();
});

test("unticking a domain shows the preview, and Apply deactivates its people", async () => {
  await entraPage();
  await adele.getByLabel("Everyone in the chosen domains").check();
  await previewAndApply();
  // Isaiah, of contoso-uk.example, gets in by auto-provisioning.
  const isaiah = await signInAs(e2e.browser, "isaiah@contoso-uk.example");
  await isaiah.getByRole("heading", { name: "Welcome, Isaiah Langer" }).waitFor();

  await entraPage();
  await adele.locator('#entra-scope input[name="domains"][value="contoso-uk.example"]').uncheck();
  await adele.getByRole("button", { name: "Preview the change" }).click();
  const row = adele.locator('[data-scope-change="deactivated"]');
  await row.waitFor();
  assert.match(await row.innerText(), /1\s+Isaiah Langer/);
  await adele.getByRole("button", { name: "Apply this scope" }).click();
  await adele.locator("#scope-result", { hasText: "1 deactivated" }).waitFor();
  await adele.goto(`${e2e.stack.appUrl}/users?q=isaiah`);
  await adele.getByText("left the sync scope").waitFor();
});

test("with Add new people automatically on, a person created in Entra is on the Users page as Not signed in yet within 60 s", async () => {
  await entraPage();
  await adele.getByRole("switch", { name: "Auto-deprovision sync" }).click();
  await adele.getByRole("switch", { name: "Auto-deprovision sync", checked: true }).waitFor();
  await adele.getByRole("switch", { name: "Add new people automatically" }).click();
  await adele.getByRole("switch", { name: "Add new people automatically", checked: true }).waitFor();
  await adele.reload();
  await adele.locator("#sync-realtime", { hasText: "Real-time updates: active" }).waitFor();

  const created = await fetch(`${e2e.stack.emulatorUrl}/_emulator/users`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Nina Newhire",
      userPrincipalName: "nina@contoso.example",
      mailNickname: "nina",
      accountEnabled: true,
    }),
  });
  assert.equal(created.status, 201);
  const createdAt = Date.now();
  for (;;) {
    await adele.goto(`${e2e.stack.appUrl}/users?q=nina`);
    const row = adele.locator("tr", { hasText: "Nina Newhire" });
    if ((await row.count()) > 0) {
      assert.match(await row.innerText(), /Not signed in yet/);
      break;
    }
    assert.ok(Date.now() - createdAt < 60_000, "Nina is not on the Users page 60 s after her creation");
    await adele.waitForTimeout(500);
  }
});
