// Issue 11's browser test: Adele connects Contoso with Auto-provision and Auto-deprovision sync on;
// Megan signs in (auto-provisioned). Megan is then disabled through the emulator's admin API, with
// nobody pressing Sync now: Graph's change notification reaches the app, a real-time delta read
// deactivates her, her session ends, and the Users page shows her deactivated by directory sync.
import assert from "node:assert/strict";
import { test } from "node:test";
import { entraUser } from "../../demo/directory.ts";
import { connectContosoAsAdele, signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

test("Megan, disabled in Entra ID while signed in, is locked out within seconds", async () => {
  const admin = await e2e.browser.newContext();
  const page = await admin.newPage();
  await signInWithMicrosoft(page, e2e.stack.appUrl, "adele@contoso.example", "Adele Vance");
  await connectContosoAsAdele(page, e2e.stack.appUrl);
  for (const label of ["Auto-provision users", "Auto-deprovision sync"]) {
    await page.getByRole("switch", { name: label }).click();
    await page.getByRole("switch", { name: label, checked: true }).waitFor();
  }
  await page.reload();
  await page.locator("#sync-realtime", { hasText: "Real-time updates: active" }).waitFor();

  // Microsoft's side fails: Graph answers 500 while Auto-deprovision is turned off and on again.
  // The page says why real-time updates are not active; the nightly sync is untouched.
  const deprovision = page.getByRole("switch", { name: "Auto-deprovision sync" });
  await deprovision.click();
  await page.getByRole("switch", { name: "Auto-deprovision sync", checked: false }).waitFor();
  const fault = await fetch(`${e2e.stack.emulatorUrl}/_emulator/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ endpoint: "subscriptions", status: 500, times: 20 }),
  });
  assert.equal(fault.status, 200);
  await deprovision.click();
  await page.getByRole("switch", { name: "Auto-deprovision sync", checked: true }).waitFor();
  await page.reload();
  await page.locator("#sync-realtime", { hasText: "Real-time updates: not active. Microsoft Graph did not answer." }).waitFor();
  assert.match(await page.locator("#sync-next").innerText(), /Next scheduled run/);
  // Graph answers again: off and on once more, and the subscription is held.
  await fetch(`${e2e.stack.emulatorUrl}/_emulator/faults`, { method: "DELETE" });
  await deprovision.click();
  await page.getByRole("switch", { name: "Auto-deprovision sync", checked: false }).waitFor();
  await deprovision.click();
  await page.getByRole("switch", { name: "Auto-deprovision sync", checked: true }).waitFor();
  await page.reload();
  await page.locator("#sync-realtime", { hasText: "Real-time updates: active" }).waitFor();

  // A forged notification (our subscription's id with a guessed clientState) is refused; one naming
  // a subscription we do not hold is acknowledged, so Graph would not retry it. Neither changes anything.
  const held = (await (await fetch(`${e2e.stack.emulatorUrl}/_emulator/subscriptions`)).json()) as { value: { id: string }[] };
  assert.equal(held.value.length, 1);
  const notify = (subscriptionId: string) =>
    fetch(`${e2e.stack.appUrl}/realtime/microsoft-graph/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        value: [{ subscriptionId, clientState: "guess", changeType: "updated", resource: `Users/${entraUser("adele").oid}` }],
      }),
    });
  assert.equal((await notify(held.value[0]!.id)).status, 403);
  assert.equal((await notify(crypto.randomUUID())).status, 202);

  const megansBrowser = await e2e.browser.newContext();
  const megan = await megansBrowser.newPage();
  await signInWithMicrosoft(megan, e2e.stack.appUrl, "megan@contoso.example", "Megan Bowen");

  const disabled = await fetch(`${e2e.stack.emulatorUrl}/_emulator/users/${entraUser("megan").oid}/disable`, { method: "POST" });
  assert.equal(disabled.status, 200);
  const changedAt = Date.now();

  // Her session is ended: her next page load lands on the sign-in page.
  const deadline = changedAt + 20_000;
  for (;;) {
    await megan.goto(`${e2e.stack.appUrl}/`);
    if (new URL(megan.url()).pathname === "/sign-in") break;
    assert.ok(Date.now() < deadline, "Megan still signed in 20 s after being disabled");
    await megan.waitForTimeout(250);
  }

  await page.goto(`${e2e.stack.appUrl}/users`);
  assert.match(await page.locator("tr", { hasText: "Megan Bowen" }).innerText(), /Deactivated by directory sync/);
  await page.goto(`${e2e.stack.appUrl}/settings/integrations/entra`);
  const history = await page.locator("#sync-history").innerText();
  assert.match(history, /Real-time update/);
  assert.doesNotMatch(history, /Sync now \(/);
  await megansBrowser.close();
  await admin.close();
});
