// Connecting Contoso's tenant through the real handlers and the emulator's consent page, and
// turning the connection's features on or off from the Entra page.
import { expect } from "vitest";
import { entraUser } from "../../demo/directory.ts";
import type { TestBrowser } from "./browser.ts";
import { signedIn } from "./people.ts";

export const ENTRA_PAGE = "/settings/integrations/entra";

export type EntraFeature = "auto-provision" | "auto-deprovision" | "group-role-mapping";

/** Clicks "Connect Entra ID", signs in at the emulator as `account`, answers the consent page. */
export async function connectEntra(
  browser: TestBrowser,
  options: { account?: string; consent?: "accept" | "cancel" } = {},
): Promise<Response> {
  await browser.page(ENTRA_PAGE);
  const start = await browser.post(`${ENTRA_PAGE}/connect`);
  if (start.status !== 302) throw new Error(`connect did not redirect: ${start.status}`);
  const back = await browser.authorizeAtEmulator(start, {
    account: options.account ?? entraUser("adele").oid,
    consent: options.consent ?? "accept",
  });
  return browser.returnFromProvider(back);
}

/** Flips one of the connection's switches on the Entra page, as the page does it (htmx). */
export async function setFeature(browser: TestBrowser, feature: EntraFeature, on: boolean): Promise<void> {
  await browser.page(ENTRA_PAGE);
  const response = await browser.post(`${ENTRA_PAGE}/features/${feature}`, { enabled: String(on) }, { htmx: true });
  expect(response.status, `turning ${feature} ${on ? "on" : "off"}`).toBe(200);
}

/**
 * Adele, Contoso's Owner, signs in, connects Contoso (as herself, or as `account`: another tenant's
 * admin, so Contoso points at that tenant) and turns `features` on. Returns her browser, on the
 * Entra page.
 */
export async function connectContoso(features: EntraFeature[] = [], options: { account?: string } = {}): Promise<TestBrowser> {
  const adele = await signedIn("adele");
  const back = await connectEntra(adele, { account: options.account });
  expect(back.headers.get("location")).toBe(ENTRA_PAGE);
  for (const feature of features) await setFeature(adele, feature, true);
  await adele.page(ENTRA_PAGE);
  return adele;
}
