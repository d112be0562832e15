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
