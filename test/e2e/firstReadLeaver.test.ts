// Issue 18's browser test: a leaver is not missed while the first real-time read runs. Adele
// connects Contoso with Auto-provision and Auto-deprovision sync on. Megan's account changes in
// Entra ID (enabled), so a notification starts the first real-time read, a full one (no delta link
// yet); Graph is slow to hand it its starting point. While it runs, Megan signs in (auto-
// provisioned) and is disabled in the emulator at once. Nobody presses Sync now: her session must
// end within 60 s, and the Users page shows her deactivated by directory sync.
import assert from "node:assert/strict";
import { test } from "node:test";
import { entraUser } from "../../demo/directory.ts";
import { connectContosoAsAdele, signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

async function emulator(path: string, body?: unknown) {
  const response = await fetch(`${e2e.stack.emulatorUrl}/_emulator/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(response.status, 200, path);
}

test("Megan, provisioned and disabled while the first real-time read runs, is locked out within 60 s", async () => {
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
  assert.match(await page.locator("#sync-history").innerText(), /No sync has run yet/);

  // Graph takes 8 s to answer the first read's request for its starting point.
  await emulator("faults", { endpoint: "delta", delayMs: 8_000 });
  await emulator(`users/${entraUser("megan").oid}/enable`);
  await page.reload();
  await page.locator("#sync-running").waitFor();

  const megansBrowser = await e2e.browser.newContext();
  const megan = await megansBrowser.newPage();
  await signInWithMicrosoft(megan, e2e.stack.appUrl, "megan@contoso.example", "Megan Bowen");
  await emulator(`users/${entraUser("megan").oid}/disable`);
  const disabledAt = Date.now();
  // The first read is still going: the change came while it ran.
  await page.reload();
  await page.locator("#sync-running").waitFor({ timeout: 1_000 });

  // Her session is ended: her next page load lands on the sign-in page.
  for (;;) {
    await megan.goto(`${e2e.stack.appUrl}/`);
    if (new URL(megan.url()).pathname === "/sign-in") break;
    assert.ok(Date.now() - disabledAt < 60_000, "Megan still signed in 60 s after being disabled");
    await megan.waitForTimeout(500);
  }

  await page.goto(`${e2e.stack.appUrl}/users`);
  assert.match(await page.locator("tr", { hasText: "Megan Bowen" }).innerText(), /Deactivated by directory sync/);
  await page.goto(`${e2e.stack.appUrl}/settings/integrations/entra`);
  const history = await page.locator("#sync-history").innerText();
  assert.match(history, /Real-time update \(full\)/);
  assert.doesNotMatch(history, /Sync now \(/);
  await megansBrowser.close();
  await admin.close();
});
