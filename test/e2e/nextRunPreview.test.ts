// The mapping page's "Preview the next run" as a new admin meets it (issue 19), in real Chromium:
// Adele maps "UniAsset Admins" → Admin and imports Contoso, then adds "UniAsset Managers" → Manager,
// an edit that waits for the next run. Microsoft Graph failing while the preview reads the groups
// says why and changes nobody; a forged request (no CSRF token) is refused and starts nothing; then
// the preview's progress ends in who the next run would move, from what to what and why, and nobody
// has moved yet.
import assert from "node:assert/strict";
import { test } from "node:test";
import { connectContosoAsAdele, emulatorFaults, mapGroup, signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

const faults = (body: unknown | null) => emulatorFaults(e2e.stack.emulatorUrl, body);

test("Preview the next run: Graph down says why, a forged request is refused, then it lists Megan going Member → Manager", async () => {
  const adele = await (await e2e.browser.newContext()).newPage();
  await signInWithMicrosoft(adele, e2e.stack.appUrl, "adele@contoso.example", "Adele Vance");
  await connectContosoAsAdele(adele, e2e.stack.appUrl);
  await adele.getByRole("switch", { name: "Group → Role mapping" }).click();
  await adele.getByRole("switch", { name: "Group → Role mapping", checked: true }).waitFor();
  await mapGroup(adele, "UniAsset Admins", "Admin");
  const imports = adele.locator("#entra-import");
  await imports.getByRole("button", { name: "Preview import" }).click();
  await imports.getByRole("button", { name: /^Import \d+ users$/ }).click();
  await imports.getByText("Import applied.").waitFor();
  // An edit for the next run: Megan, a Member today, is in "UniAsset Managers".
  await mapGroup(adele, "UniAsset Managers", "Manager");
  const section = adele.locator("#mapping-next-run");

  // Microsoft's side fails: every page of the mapped groups' members answers 500, past the retries.
  await faults({ endpoint: "members", status: 500, times: 1000 });
  await section.getByRole("button", { name: "Preview the next run" }).click();
  await section.getByText("The preview stopped.").waitFor({ timeout: 90_000 });
  assert.match((await section.textContent()) ?? "", /Nothing was changed\. Preview the next run again\./);
  await faults(null);

  // A forged request: Adele's cookie, but no CSRF token from the page. Refused, and nothing starts.
  const forged = await adele.request.post(`${e2e.stack.appUrl}/settings/integrations/entra/mapping/next-run`, {
    form: { csrf: "forged" },
    headers: { origin: e2e.stack.appUrl },
  });
  assert.equal(forged.status(), 403);
  await adele.reload();
  assert.match((await section.textContent()) ?? "", /The preview stopped\./, "the last preview is still the failed one");

  // Microsoft answers again: the preview runs to its end and lists the one change.
  await section.getByRole("button", { name: "Preview the next run" }).click();
  const changes = section.locator("#next-run-changes");
  await changes.waitFor({ timeout: 90_000 });
  assert.match((await changes.textContent()) ?? "", /The next run would change 1 role/);
  const megan = changes.locator("tr", { hasText: "Megan Bowen" });
  assert.match((await megan.textContent()) ?? "", /Member.*Manager.*Member of UniAsset Managers/s);
  // A preview changes nobody: Megan is still a Member until a run applies the edit.
  await adele.goto(`${e2e.stack.appUrl}/users?q=megan`);
  const row = adele.locator("#member-list tr", { hasText: "Megan Bowen" });
  assert.equal(await row.locator("[data-role]").getAttribute("data-role"), "member");
});
