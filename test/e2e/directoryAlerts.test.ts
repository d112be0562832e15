// Issue 12's alerts, in a browser: Adele (Owner of Contoso) sets a strict safety threshold and
// clicks "Sync now"; Diego, disabled in Entra ID, makes the run held. Every page then shows her a
// banner linking to Apply/Dismiss; Megan, a Member of Contoso, never sees it; once Adele dismisses
// the run, the banner is gone.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { connectContosoAsAdele, signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

const banner = (page: Page) => page.locator("#directory-alerts");

async function turnOn(page: Page, feature: string) {
  await page.getByRole("switch", { name: feature }).click();
  await page.getByRole("switch", { name: feature, checked: true }).waitFor();
}

test("a held run is a banner on every page for Adele, never for a Member, until she dismisses it", async () => {
  const app = e2e.stack.appUrl;
  const adeleContext = await e2e.browser.newContext();
  const adele = await adeleContext.newPage();
  await signInWithMicrosoft(adele, app, "adele@contoso.example", "Adele Vance");
  await connectContosoAsAdele(adele, app);
  await turnOn(adele, "Auto-provision users");
  await turnOn(adele, "Auto-deprovision sync");

  // Megan gets in through auto-provisioning, as a Member.
  const meganContext = await e2e.browser.newContext();
  const megan = await meganContext.newPage();
  await signInWithMicrosoft(megan, app, "megan@contoso.example", "Megan Bowen");
  await megan.getByText("You are signed in to").getByText("Member", { exact: true }).waitFor();

  // Hold any run that would deactivate someone: Diego (disabled in Entra ID) makes it held.
  await adele.reload();
  const sync = adele.locator("#entra-sync");
  await sync.getByLabel("Percent of linked members").fill("1");
  await sync.getByLabel("Minimum members").fill("0");
  // The saved threshold is what the page shows after a reload (and no click lands on a section
  // that htmx is about to replace).
  const saved = adele.waitForResponse((response) => response.url().endsWith("/sync/threshold"));
  await sync.getByRole("button", { name: "Save threshold" }).click();
  await saved;
  await adele.reload();
  await sync.getByLabel("Percent of linked members").and(adele.locator('[value="1"]')).waitFor();
  await sync.getByRole("button", { name: "Sync now" }).click();
  await sync.getByRole("button", { name: "Apply" }).waitFor({ timeout: 30_000 });

  for (const path of ["/", "/users", "/audit", "/settings"]) {
    await adele.goto(`${app}${path}`);
    const alert = banner(adele);
    await alert.waitFor();
    assert.equal(await alert.getAttribute("role"), "alert", path);
    assert.match(
      await alert.innerText(),
      /Directory sync: Held: nothing was changed\. The run of .* would deactivate 1 of \d+ linked members\./,
      path,
    );
    assert.equal(await adele.locator("#directory-alerts").count(), 1, `one banner on ${path}`);
  }
  for (const path of ["/", "/users"]) {
    await megan.goto(`${app}${path}`);
    await megan.getByRole("navigation", { name: "Main" }).waitFor();
    assert.equal(await banner(megan).count(), 0, `Megan sees no banner on ${path}`);
  }

  // The banner's link leads to the held run, where Adele dismisses it.
  await adele.goto(`${app}/users`);
  await banner(adele).getByRole("link", { name: "Review it: Apply or Dismiss" }).click();
  await adele.waitForURL(/\/settings\/integrations\/entra#entra-sync$/);
  await banner(adele).waitFor();
  await sync.getByRole("button", { name: "Dismiss" }).click();
  await sync.locator("#sync-history tr", { hasText: "Dismissed" }).waitFor();
  // On the page where it was dismissed, the banner goes at once (the answer replaces it out of band).
  await banner(adele).waitFor({ state: "detached", timeout: 5_000 });

  for (const path of ["/", "/users"]) {
    await adele.goto(`${app}${path}`);
    await adele.getByRole("navigation", { name: "Main" }).waitFor();
    assert.equal(await banner(adele).count(), 0, `no banner on ${path} after Dismiss`);
  }
  // The home page tells the same story at a glance.
  await adele.goto(app);
  assert.match(await adele.locator("#glance-last-run").innerText(), /Sync now, .*: Dismissed/);
  assert.match(await adele.locator("#glance-tenant").innerText(), /Contoso Ltd/);

  await meganContext.close();
  await adeleContext.close();
});
