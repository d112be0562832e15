// The Users page's search and filters in a real browser: typing replaces only the list (the
// search box keeps its focus) and pushes the URL; a filter does the same; reloading the pushed
// URL gives the same list, and Back restores the previous one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { signInWithMicrosoft } from "./flows.ts";
import { useStackAndBrowser } from "./harness.ts";

const e2e = useStackAndBrowser();

test("Adele searches and filters the Users page; the URL keeps them", async () => {
  const page = await e2e.browser.newPage();
  await signInWithMicrosoft(page, e2e.stack.appUrl, "adele@contoso.example", "Adele Vance");
  await page.goto(`${e2e.stack.appUrl}/users`);
  const list = page.locator("#member-list");
  await list.locator("tr", { hasText: "Diego Siciliani" }).waitFor();

  const search = page.getByRole("searchbox", { name: "Search" });
  await search.pressSequentially("DIE");
  await page.waitForURL(/\/users\?q=DIE/);
  await list.locator("tr", { hasText: "Diego Siciliani" }).waitFor();
  assert.equal(await list.locator("tr", { hasText: "Adele Vance" }).count(), 0);
  assert.equal(
    await search.evaluate((input) => input === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement),
    true,
  );

  await page.getByRole("combobox", { name: "Status" }).selectOption("deactivated_by_directory_sync");
  await page.waitForURL(/status=deactivated_by_directory_sync/);
  await list.getByText("No members match this search.").waitFor();

  await page.reload();
  await list.getByText("No members match this search.").waitFor();
  assert.equal(await page.getByRole("searchbox", { name: "Search" }).inputValue(), "DIE");
  assert.equal(await page.getByRole("combobox", { name: "Status" }).inputValue(), "deactivated_by_directory_sync");

  await page.goBack();
  await page.waitForURL((url) => !url.search.includes("status=deactivated_by_directory_sync"));
  await page.locator("#member-list tr", { hasText: "Diego Siciliani" }).waitFor();
  assert.equal(await page.locator("h1", { hasText: "Users" }).count(), 1);
  await page.close();
});
