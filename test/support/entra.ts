// Connecting Contoso's tenant through the real handlers and the emulator's consent page.
import { entraUser } from "../../demo/directory.ts";
import type { TestBrowser } from "./browser.ts";

export const ENTRA_PAGE = "/settings/integrations/entra";

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
