// Proves the harness: both Workers come up and a real browser reaches them.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser, startStack, type E2EStack } from "./harness.ts";

let stack: E2EStack;
let browser: Browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("the app's home page answers 200 in the browser", async () => {
  const page = await browser.newPage();
  const response = await page.goto(stack.appUrl);
  assert.equal(response?.status(), 200);
  await page.close();
});

test("the emulator is reachable from the browser", async () => {
  const page = await browser.newPage();
  const response = await page.goto(`${stack.emulatorUrl}/`);
  assert.ok(response, "no HTTP response from the emulator");
  assert.ok(response.status() < 500, `emulator answered ${response.status()}`);
  await page.close();
});
