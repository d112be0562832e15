// Issue 21's browser test: Adele (Owner) generates a SCIM token; the emulator, acting as Entra ID's
// provisioning service, pushes Contoso's people with it; Megan is on the Users page as "Not signed
// in yet"; she signs in (linked by her Entra object id, sent as externalId); the provisioning client
// sends `active: false` for her, which deactivates her and ends her open session.
import assert from "node:assert/strict";
import { test } from "node:test";
import { signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

test("a SCIM push provisions Megan, who signs in, and active: false locks her out", async () => {
  const admin = await e2e.browser.newContext();
  const page = await admin.newPage();
  await signInWithMicrosoft(page, e2e.stack.appUrl, "adele@contoso.example", "Adele Vance");
  await page.goto(`${e2e.stack.appUrl}/settings/integrations/scim`);
  await page.getByRole("button", { name: "Generate token" }).click();
  const token = (await page.locator("#scim-new-token code").innerText()).trim();
  assert.match(token, /^scim_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
  // Reloading shows the token no more and rotates nothing.
  await page.reload();
  assert.equal(await page.locator("#scim-new-token").count(), 0);
  assert.match(await page.locator("#scim-tokens").innerText(), /In use/);
  assert.doesNotMatch(await page.locator("#scim-tokens").innerText(), /Rotated/);

  // The emulator's provisioning client, on its own page.
  const client = await admin.newPage();
  await client.goto(`${e2e.stack.emulatorUrl}/_emulator/scim`);
  await client.locator('form[action="/_emulator/scim/push"] input[name="token"]').fill(token);
  await client.getByRole("button", { name: "Push Contoso's people and groups" }).click();
  await client.getByRole("heading", { name: "Pushed over SCIM" }).waitFor();
  const requests = await client.locator("table").innerText();
  assert.match(requests, /POST\s+Users\s+201/);
  assert.doesNotMatch(requests, /\b(401|403|500)\b/);

  await page.goto(`${e2e.stack.appUrl}/users`);
  const meganRow = page.locator("#member-list tr", { hasText: "Megan Bowen" });
  await meganRow.waitFor();
  assert.match(await meganRow.innerText(), /Not signed in yet/);
  // What the requests changed, on the SCIM page: its last 20 requests, so the last person pushed
  // (Isaiah, of Contoso's second domain) and the groups after him.
  await page.goto(`${e2e.stack.appUrl}/settings/integrations/scim`);
  assert.match(await page.locator("#scim-requests").innerText(), /created Isaiah Langer/);

  const megansBrowser = await e2e.browser.newContext();
  const megan = await megansBrowser.newPage();
  await signInWithMicrosoft(megan, e2e.stack.appUrl, "megan@contoso.example", "Megan Bowen");

  await client.goto(`${e2e.stack.emulatorUrl}/_emulator/scim`);
  await client.locator('form[action="/_emulator/scim/deactivate"] input[name="token"]').fill(token);
  await client.locator('select[name="oid"]').selectOption({ label: "Megan Bowen (megan@contoso.example)" });
  await client.getByRole("button", { name: "Send active: false" }).click();
  await client.getByRole("heading", { name: "Deactivated over SCIM" }).waitFor();
  assert.match(await client.locator("table").innerText(), /PATCH\s+Users\/[0-9a-f-]+\s+200/);

  // Her open session ended: her next page load lands on the sign-in page.
  await megan.goto(`${e2e.stack.appUrl}/`);
  assert.equal(new URL(megan.url()).pathname, "/sign-in");

  await page.goto(`${e2e.stack.appUrl}/users`);
  assert.match(await page.locator("#member-list tr", { hasText: "Megan Bowen" }).innerText(), /deprovisioned by your identity provider/i);
  await megansBrowser.close();
  await admin.close();
});
