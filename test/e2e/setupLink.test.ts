// The Azure-admin setup link in a real browser: Nestor, Owner of Northwind but no Entra admin, is
// kept on Microsoft's "Need admin approval" page, creates a setup link, and his Azure administrator
// Nancy (no UniAsset account, her own browser context) grants admin consent through it; Nestor then
// finishes the connection without any admin rights. A revoked link is refused.
// The revoke test runs first: the setup card is only shown while Northwind is not connected.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

const NESTOR = { email: "nestor@northwind.example", name: "Nestor Wilke" };
const NORTHWIND_TENANT_ID = "5a9e3c1d-7b2f-4e6a-8d0c-9f1e2d3c4b5a";

/** Settings → Integrations → Microsoft Entra ID, as a person clicks it. */
async function openEntraPage(page: Page) {
  await page.getByRole("link", { name: "Settings", exact: true }).click();
  await page.getByRole("link", { name: "Integrations", exact: true }).click();
  await page.getByRole("link", { name: "Microsoft Entra ID" }).click();
  await page.getByRole("heading", { name: "Microsoft Entra ID", level: 1 }).waitFor();
}

/** Create setup link (htmx swaps the card in place) → the URL shown once in #setup-link-url. */
async function createSetupLink(page: Page): Promise<string> {
  // htmx is a deferred script: let the page finish loading so the click goes through htmx.
  await page.waitForLoadState("load");
  await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 7));
  await page
    .locator("#setup-link")
    .getByRole("button", { name: /^Create (a new )?setup link$/ })
    .click();
  const field = page.locator("#setup-link-url");
  await field.waitFor();
  // Swapped in place, not a full page load.
  assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 7);
  assert.equal(await field.getAttribute("readonly"), "");
  const url = await field.inputValue();
  assert.match(url, new RegExp(`^${e2e.stack.appUrl.replaceAll(".", "\\.")}/setup/entra/[^/?#]+$`));
  return url;
}

test("A revoked setup link is refused", { timeout: 120_000 }, async () => {
  const page = await e2e.browser.newPage();
  await signInWithMicrosoft(page, e2e.stack.appUrl, NESTOR.email, NESTOR.name);
  await openEntraPage(page);
  await page.locator("#entra-status", { hasText: "Not connected" }).waitFor();

  const url = await createSetupLink(page);
  await page.locator("#setup-link").getByRole("button", { name: "Revoke setup link" }).click();
  // The card is swapped again: no link shown, none open, so the button is back to "Create setup link".
  await page.locator("#setup-link").getByRole("button", { name: "Create setup link", exact: true }).waitFor();
  assert.equal(await page.locator("#setup-link-url").count(), 0);
  assert.equal(await page.locator("#setup-link").getByRole("button", { name: "Revoke setup link" }).count(), 0);

  const azureAdmin = await e2e.browser.newContext();
  const adminPage = await azureAdmin.newPage();
  const response = await adminPage.goto(url);
  assert.ok(response && response.status() >= 400 && response.status() < 500, `status ${response?.status()}`);
  await adminPage.getByText("This setup link was revoked. Ask the person who sent it to create a new one.").waitFor();
  assert.equal(await adminPage.getByRole("button", { name: "Review and grant admin consent in Microsoft" }).count(), 0);
  await azureAdmin.close();
  await page.close();
});

test("Nestor (no Entra admin) connects Northwind through a setup link his Azure administrator uses", { timeout: 180_000 }, async () => {
  const page = await e2e.browser.newPage();
  await signInWithMicrosoft(page, e2e.stack.appUrl, NESTOR.email, NESTOR.name);
  await openEntraPage(page);
  await page.locator("#entra-status", { hasText: "Not connected" }).waitFor();

  // Microsoft keeps a non-admin of an unconsented tenant on "Need admin approval": no redirect back.
  await page.getByRole("button", { name: "Connect Entra ID" }).click();
  await page.getByRole("button", { name: /nestor@northwind\.example/ }).click();
  await page.getByRole("heading", { name: "Need admin approval" }).waitFor();
  assert.ok(!page.url().startsWith(e2e.stack.appUrl), `expected to stay at Microsoft, got ${page.url()}`);
  await page.getByRole("button", { name: "Return to the application without granting consent" }).click();

  const failure = page.getByRole("alert");
  await failure.waitFor();
  assert.ok(page.url().startsWith(`${e2e.stack.appUrl}/settings/integrations/entra`), page.url());
  const failureText = await failure.innerText();
  assert.match(failureText, /Connection failed/);
  assert.match(
    failureText,
    /the authorization was cancelled before completing, or the Microsoft account used does not have permission to consent/,
  );
  assert.match(failureText, /Ask a Global Admin in your organization to complete the connection step/);
  assert.match(failureText, /create a setup link below and send it to them/);
  assert.notEqual(await page.locator("#entra-status").innerText(), "Connected");

  const url = await createSetupLink(page);

  // Nancy, the Azure administrator: her own browser, no UniAsset account.
  const azureAdmin = await e2e.browser.newContext();
  const adminPage = await azureAdmin.newPage();
  await adminPage.goto(url);
  await adminPage.getByRole("heading", { name: "Connect Northwind to UniAsset" }).waitFor();
  const request = await adminPage.locator("section.card").innerText();
  assert.match(request, /Nestor Wilke of Northwind asks you/);
  assert.match(request, /User\.Read\.All/);
  assert.match(request, /Group\.Read\.All/);
  await adminPage.getByRole("button", { name: "Review and grant admin consent in Microsoft" }).click();

  // Microsoft's admin consent: pick Nancy, then Accept the permissions.
  await adminPage.getByRole("heading", { name: "Pick an account" }).waitFor();
  assert.match(adminPage.url(), /\/v2\.0\/adminconsent\?/);
  await adminPage.getByRole("button", { name: /nancy@northwind\.example/ }).click();
  await adminPage.getByRole("heading", { name: "Permissions requested" }).waitFor();
  await adminPage.getByRole("button", { name: "Accept" }).click();
  await adminPage.getByRole("heading", { name: "Admin consent granted" }).waitFor();
  assert.ok(adminPage.url().startsWith(`${e2e.stack.appUrl}/setup/entra/callback`), adminPage.url());
  assert.match(await adminPage.locator("section.card").innerText(), /Owners and Admins of Northwind can finish the connection/);

  // The link worked once.
  const again = await adminPage.goto(url);
  assert.ok(again && again.status() >= 400 && again.status() < 500, `status ${again?.status()}`);
  await adminPage.getByText("This setup link was already used: admin consent was granted through it.").waitFor();
  assert.equal(await adminPage.getByRole("button", { name: "Review and grant admin consent in Microsoft" }).count(), 0);
  await azureAdmin.close();

  // Back as Nestor: the page tells him what happened, and Connect Entra ID finishes without any consent page.
  await page.reload();
  const granted = page.locator("#setup-consent-granted");
  await granted.waitFor();
  assert.match(
    await granted.innerText(),
    new RegExp(
      `Your Azure administrator granted consent on .+ \\(Microsoft reported tenant ${NORTHWIND_TENANT_ID}\\) — click Connect Entra ID to finish\\.`,
    ),
  );
  assert.equal(await page.getByRole("textbox", { name: /Tenant/ }).inputValue(), NORTHWIND_TENANT_ID);
  await page.getByRole("button", { name: "Connect Entra ID" }).click();
  await page.getByRole("button", { name: /nestor@northwind\.example/ }).click();

  // hasText is a case-insensitive substring ("Not connected" contains it): match the whole label.
  await page.locator("#entra-status", { hasText: /^Connected$/ }).waitFor();
  assert.equal(await page.getByRole("heading", { name: "Permissions requested" }).count(), 0);
  assert.equal(await page.getByRole("heading", { name: "Need admin approval" }).count(), 0);
  assert.equal(await page.locator("#entra-tenant").innerText(), "Northwind Traders");
  assert.equal(await page.locator("#entra-domain").innerText(), "northwind.example");
  const connectedBy = await page.locator("#entra-connected-by").innerText();
  assert.match(connectedBy, /^Nestor Wilke on /);
  assert.doesNotMatch(connectedBy, /\(/);
  assert.equal(await page.getByRole("alert").count(), 0);
  assert.equal(await page.locator("#setup-link").count(), 0);
  await page.close();
});
