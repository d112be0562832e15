// Import as a new admin meets it (issue 20, "Import at any size"), in real Chromium: Microsoft Graph
// failing while the preview reads says why and changes nothing; a forged Apply (a preview id the
// page never showed) is refused with a reason; then the preview's progress ends in counts, Apply
// imports the people, and they are on the Users page as "Not signed in yet".
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { connectContosoAsAdele, emulatorFaults, signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

const faults = (body: unknown | null) => emulatorFaults(e2e.stack.emulatorUrl, body);

async function memberCount(page: Page): Promise<number> {
  await page.goto(`${e2e.stack.appUrl}/users`);
  return await page.locator("table tbody tr").count();
}

test("Import: Graph down says why and changes nothing, a forged Apply is refused, then the preview's people are imported", async () => {
  const adele = await (await e2e.browser.newContext()).newPage();
  await signInWithMicrosoft(adele, e2e.stack.appUrl, "adele@contoso.example", "Adele Vance");
  await connectContosoAsAdele(adele, e2e.stack.appUrl);
  const before = await memberCount(adele);

  // Microsoft's side fails: every page of users answers 500, past the Graph client's retries (a 503 is
  // throttling, which the import waits out in pauses of a minute or more: readLoop.ts THROTTLE_PAUSES).
  await faults({ endpoint: "users", status: 500, times: 1000 });
  await adele.goto(`${e2e.stack.appUrl}/settings/integrations/entra`);
  const imports = adele.locator("#entra-import");
  await imports.getByRole("button", { name: "Preview import" }).click();
  await imports.getByText("The preview stopped.").waitFor({ timeout: 90_000 });
  assert.match(
    await imports.locator("#import-failed").innerText(),
    /Microsoft Graph did not answer a page of users after several retries\. Nothing was changed\./,
  );
  await faults(null);
  assert.equal(await memberCount(adele), before);

  // Graph answers again: the preview reads the directory (a Workflow the section polls) and counts.
  await adele.goto(`${e2e.stack.appUrl}/settings/integrations/entra`);
  await imports.getByRole("button", { name: "Preview import" }).click();
  const importButton = imports.getByRole("button", { name: /^Import \d+ users?$/ });
  await importButton.waitFor({ timeout: 60_000 });
  const toImport = Number((await importButton.innerText()).match(/\d+/)![0]);
  assert.ok(toImport >= 3, `expected Megan, Alex and Isaiah at least, got ${toImport}`);

  // A forged Apply: the form names a preview this organization never made. Refused, nothing added.
  const realPreview = await imports.locator('input[name="preview"]').inputValue();
  await imports.locator('input[name="preview"]').evaluate((input) => input.setAttribute("value", "00000000-0000-4000-8000-000000000000"));
  await importButton.click();
  await adele.locator("#flash .flash.error", { hasText: "That preview is no longer the latest: preview the import again." }).waitFor();
  assert.equal(await memberCount(adele), before);

  // A reload shows the real preview again (its state is in D1); its Apply imports the people, who
  // are members that have not signed in yet.
  await adele.goto(`${e2e.stack.appUrl}/settings/integrations/entra`);
  assert.equal(await imports.locator('input[name="preview"]').inputValue(), realPreview);
  await importButton.click();
  await imports.getByText("Import applied.").waitFor({ timeout: 60_000 });
  assert.match(await imports.locator("#import-result").innerText(), new RegExp(`${toImport} imported`));
  assert.equal(await memberCount(adele), before + toImport);
  await adele.goto(`${e2e.stack.appUrl}/users?q=isaiah`);
  await adele.getByText("Not signed in yet").waitFor();
});
