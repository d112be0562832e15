// Changing the sync scope through the real handlers as the page drives it (issue 20): Preview
// starts a Workflow run and answers with its progress, which the page polls until the preview is
// shown; Apply names that preview and answers with the saved scope and the directory sync that
// applies it, which the page polls until it ends. These helpers do the same, as htmx would.
import type { TestBrowser } from "./browser.ts";
import { ENTRA_PAGE } from "./entra.ts";
import { postForm } from "../events/support.ts";

export const SCOPE = `${ENTRA_PAGE}/scope`;

/** The fields of a proposed scope, as the form sends them. */
export const scopeFields = (mode: "domains" | "groups", chosen: string[], groupIds: string[] = []): [string, string][] => [
  ["mode", mode],
  ...groupIds.map((id): [string, string] => ["groupIds", id]),
  ...chosen.map((d): [string, string] => ["domains", d]),
];

const busy = (html: string) => html.includes('aria-busy="true"');

async function poll(browser: TestBrowser, path: string, timeoutMs: number): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const html = await (await browser.get(path, { "hx-request": "true" })).text();
    if (!busy(html)) return html;
    if (Date.now() > until) throw new Error(`${path} is still running after ${timeoutMs} ms: ${html.slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls the progress fragment until the organization's latest scope preview is over; returns its last HTML. */
export const awaitScopePreview = (browser: TestBrowser, timeoutMs = 15_000) => poll(browser, `${SCOPE}/preview/progress`, timeoutMs);

/** Preview, awaited: the status of the start and the finished preview's HTML (or the refusal's). */
export async function previewScope(browser: TestBrowser, fields: [string, string][], timeoutMs = 15_000) {
  const started = await postForm(browser, `${SCOPE}/preview`, fields);
  const html = await started.text();
  if (started.status !== 200) return { status: started.status, html };
  return { status: 200, html: busy(html) ? await awaitScopePreview(browser, timeoutMs) : html };
}

/** The preview id its Apply form names. */
export function scopePreviewIdOf(html: string): string {
  const id = /name="preview" value="([^"]+)"/.exec(html)?.[1];
  if (!id) throw new Error(`no Apply form in ${html.slice(0, 300)}`);
  return id;
}

/** Apply of a finished preview, awaited until the directory sync it started ends: its status, HTML and run id. */
export async function applyScope(browser: TestBrowser, previewHtml: string, timeoutMs = 30_000) {
  const saved = await postForm(browser, `${SCOPE}/apply`, [["preview", scopePreviewIdOf(previewHtml)]]);
  const html = await saved.text();
  const runId = /hx-get="[^"]*\/scope\/runs\/([^"]+)"/.exec(html)?.[1] ?? null;
  if (saved.status !== 200 || !runId) return { status: saved.status, html, runId };
  return { status: 200, html: await poll(browser, `${SCOPE}/runs/${runId}`, timeoutMs), runId };
}

/** A scope chosen as an Owner or Admin does it: previewed, then applied, both awaited. */
export async function chooseScope(browser: TestBrowser, fields: [string, string][]) {
  const preview = await previewScope(browser, fields);
  if (preview.status !== 200) throw new Error(`preview refused with ${preview.status}: ${preview.html.slice(0, 300)}`);
  const applied = await applyScope(browser, preview.html);
  if (applied.status !== 200) throw new Error(`apply refused with ${applied.status}: ${applied.html.slice(0, 300)}`);
  return { preview: preview.html, ...applied };
}
