// Page flows several browser tests share, written as a person clicks them.
import type { Page } from "playwright-core";

/** Sign-in page → "Sign in with Microsoft" → the account on the emulator's page → Home. */
export async function signInWithMicrosoft(page: Page, appUrl: string, email: string, name: string) {
  await page.goto(`${appUrl}/sign-in`);
  await page.getByRole("link", { name: "Sign in with Microsoft" }).click();
  await page.getByRole("button", { name: new RegExp(email.replaceAll(".", "\\.")) }).click();
  await page.getByRole("heading", { name: `Welcome, ${name}` }).waitFor();
}

/** On the Microsoft Entra ID page: Connect Entra ID → Adele → Accept → Connected. */
export async function connectContosoAsAdele(page: Page, appUrl: string) {
  await page.goto(`${appUrl}/settings/integrations/entra`);
  await page.getByRole("button", { name: "Connect Entra ID" }).click();
  await page.getByRole("button", { name: /adele@contoso\.example/ }).click();
  await page.getByRole("heading", { name: "Permissions requested" }).waitFor();
  await page.getByRole("button", { name: "Accept" }).click();
  await page.locator("#entra-status", { hasText: "Connected" }).waitFor();
}

/** The Group → Role mapping editor on the Entra page: search, choose, preview, Save. */
export async function mapGroup(page: Page, group: string, role: string) {
  const editor = page.locator("#entra-mapping");
  await editor.getByLabel("Search groups").fill(group.split(" ")[0]!.slice(0, 6));
  await editor.getByRole("radio", { name: group }).check();
  await editor.locator("#mapping-role").selectOption({ label: role });
  await editor.locator("#add-mapping").getByRole("button", { name: "Preview" }).click();
  await editor.getByText(`Add mapping: ${group} → ${role}`).waitFor();
  await editor.getByRole("button", { name: "Save" }).click();
  await editor.locator("#mapping-list tr", { hasText: group }).getByText(role, { exact: true }).waitFor();
}

/** Sets (or, with null, clears) a fault on the emulator's Graph: Microsoft's side failing, as its admin API makes it. */
export async function emulatorFaults(emulatorUrl: string, body: unknown | null) {
  const response = await fetch(`${emulatorUrl}/_emulator/faults`, {
    method: body === null ? "DELETE" : "POST",
    headers: { "content-type": "application/json" },
    body: body === null ? undefined : JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`emulator faults: ${response.status}`);
}
