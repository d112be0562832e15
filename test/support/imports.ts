// Import through the real handlers as the page drives it (issue 20): Preview and Apply each start a
// Workflow run and answer with its progress fragment; the page then polls /import/progress until
// the run is over. These helpers do the same, polling the fragment as htmx would.
import { SELF, env } from "cloudflare:test";
import { APP, type TestBrowser } from "./browser.ts";
import { ENTRA_PAGE, connectContoso } from "./entra.ts";
import { emulatorAdmin } from "./emulator.ts";

export const IMPORT = `${ENTRA_PAGE}/import`;

/** Posts a form as htmx would, repeated fields (several groupIds) included. */
export async function postImport(browser: TestBrowser, step: "preview" | "apply", fields: [string, string][]) {
  const body = new URLSearchParams([...fields, ["_csrf", browser.csrfToken!]]);
  const response = await SELF.fetch(`${APP}${IMPORT}/${step}`, {
    method: "POST",
    headers: {
      cookie: browser.cookieHeader(),
      origin: APP,
      "content-type": "application/x-www-form-urlencoded",
      "hx-request": "true",
      "cf-connecting-ip": browser.ip,
    },
    body,
  });
  return { status: response.status, html: await response.text() };
}

/** Whether a progress fragment is still polling (its import runs). */
export const stillRunning = (html: string) => html.includes('aria-busy="true"');

/** Polls the progress fragment until the organization's latest import is over; returns its last HTML. */
export async function awaitImport(browser: TestBrowser, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const html = await (await browser.get(`${IMPORT}/progress`, { "hx-request": "true" })).text();
    if (!stillRunning(html)) return html;
    if (Date.now() > until) throw new Error(`the import is still running after ${timeoutMs} ms: ${html.slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The preview id its Apply form names. */
export function previewIdOf(html: string): string {
  const id = /name="preview" value="([^"]+)"/.exec(html)?.[1];
  if (!id) throw new Error(`no Apply form in ${html.slice(0, 300)}`);
  return id;
}

/** Preview, awaited: the finished fragment (status of the start, and the result's HTML). */
export async function previewImport(browser: TestBrowser, fields: [string, string][] = [["scope", "all"]]) {
  const started = await postImport(browser, "preview", fields);
  if (started.status !== 200) return started;
  return { status: 200, html: await awaitImport(browser) };
}

/** Preview, then Apply of that preview, both awaited: the apply's finished fragment. */
export async function importFromDirectory(browser: TestBrowser, fields: [string, string][] = [["scope", "all"]]) {
  const preview = await previewImport(browser, fields);
  if (preview.status !== 200) throw new Error(`preview refused with ${preview.status}: ${preview.html.slice(0, 300)}`);
  const started = await postImport(browser, "apply", [["preview", previewIdOf(preview.html)]]);
  if (started.status !== 200) return started;
  return { status: 200, html: await awaitImport(browser) };
}

/** The count a finished preview shows for a category. */
export function countOf(html: string, category: string): number {
  const match = new RegExp(`data-category="${category}"><th>[^<]*</th><td class="count">(\\d+)</td>`).exec(html);
  if (!match) throw new Error(`no ${category} count in ${html.slice(0, 300)}`);
  return Number(match[1]);
}

/**
 * Contoso connected to a synthetic tenant of `users` (every 100th disabled; the emulator computes
 * them from their index), its one domain chosen: it is also the tenant's initial domain, which a
 * new connection leaves unchosen. Returns Adele's browser and the tenant.
 */
export async function connectSyntheticTenant(users: number) {
  const tenant = await emulatorAdmin<{ tenantId: string; adminOid: string }>("synthetic-tenants", {
    users,
    consented: true,
    domain: "synthetic.example",
    disabledPercent: 1,
  });
  const adele = await connectContoso([], { account: tenant.adminOid });
  await env.DB.prepare("update sync_scope_domains set chosen = 1").run();
  return { adele, tenant };
}
