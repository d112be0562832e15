// Proves the harness: both Workers come up and a real browser reaches them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

test("the app's home page answers 200 in the browser", async () => {
  const page = await e2e.browser.newPage();
  const response = await page.goto(e2e.stack.appUrl);
  assert.equal(response?.status(), 200);
  await page.close();
});

test("the emulator is reachable from the browser", async () => {
  const page = await e2e.browser.newPage();
  const response = await page.goto(`${e2e.stack.emulatorUrl}/`);
  assert.ok(response, "no HTTP response from the emulator");
  assert.ok(response.status() < 500, `emulator answered ${response.status()}`);
  await page.close();
});
