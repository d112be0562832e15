// Waiting the tests skip, and pages they wait on.
import { introspectWorkflow } from "cloudflare:test";
import type { TestBrowser } from "./browser.ts";

/**
 * The instances of `workflow` created while this lives skip their sleeps (cloudflare:test's Workflow
 * introspection, disableSleeps): the test skips the waiting, not the logic. `await using` ends it.
 */
export async function withoutSleeps(workflow: Workflow) {
  const workflows = await introspectWorkflow(workflow);
  await workflows.modifyAll(async (m) => m.disableSleeps());
  return workflows;
}

/** What a progress view says while Graph has paused a run or an import for its first minute (views/parts/graphPause.tsx). */
export const SLOW_DOWN = /Microsoft Graph asked us to slow down\. Reading again at \d\d:\d\d UTC \(about 1 minute\)\./;

/** The fragment at `path` once `shows` holds for it, polled every 50 ms; "" when it does not within `withinMs`. */
export async function fragmentWhen(
  browser: TestBrowser,
  path: string,
  shows: (html: string) => boolean,
  withinMs: number,
): Promise<string> {
  for (const until = Date.now() + withinMs; Date.now() < until; ) {
    const html = await (await browser.get(path, { "hx-request": "true" })).text();
    if (shows(html)) return html;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return "";
}
