// Webhook tests' helpers: the emulator's stand-in receiver (every outbound fetch of the app reaches
// the emulator), adding an endpoint through the real page, and verifying signatures with the
// `standardwebhooks` package, an implementation independent of ours.
import { SELF, env } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { APP, type TestBrowser } from "../support/browser.ts";
import { emulatorAdmin, EMULATOR } from "../support/emulator.ts";
import { DEMO_ORGS } from "../../demo/seed.ts";
import { DAY_MS, FAILURES_BEFORE_DISABLING } from "../../src/db/webhooks.ts";

export const WEBHOOKS = "/settings/webhooks";
export const CONTOSO = DEMO_ORGS.contoso.id;

export const receiverUrl = (name: string) => `${EMULATOR}/webhook-receiver/${name}`;

export interface Received {
  headers: Record<string, string>;
  body: string;
  receivedAt: number;
}

export async function received(name: string): Promise<Received[]> {
  return (await emulatorAdmin<{ received: Received[] }>(`webhook-receiver/${name}`, undefined, "GET")).received;
}

export async function receiverAnswers(name: string, behaviour: { status: number; location?: string; body?: string; delayMs?: number }) {
  await emulatorAdmin(`webhook-receiver/${name}/behaviour`, behaviour);
}

export async function forgetReceiver(name: string) {
  await emulatorAdmin(`webhook-receiver/${name}`, undefined, "DELETE");
}

/** Polls until `name` has received a request matching `match`; returns it. */
export async function receivedWhere(name: string, match: (r: Received) => boolean, timeoutMs = 45_000): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await received(name)).find(match);
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`receiver ${name} got no matching request: ${JSON.stringify(await received(name)).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const ofType = (type: string) => (r: Received) => (JSON.parse(r.body) as { type: string }).type === type;

/** Throws unless one of the request's signatures verifies with `secret`; returns the payload. */
export function verified(request: Received, secret: string) {
  return new Webhook(secret).verify(request.body, request.headers) as { type: string; timestamp: string; data: Record<string, unknown> };
}

/** POSTs a form with repeated fields (event types), as the browser's form does. */
export async function postForm(browser: TestBrowser, path: string, fields: [string, string][], options: { csrf?: boolean } = {}) {
  const body = new URLSearchParams(fields);
  if (options.csrf !== false && browser.csrfToken) body.set("_csrf", browser.csrfToken);
  return SELF.fetch(new URL(path, APP), {
    method: "POST",
    headers: {
      cookie: browser.cookieHeader(),
      "cf-connecting-ip": browser.ip,
      origin: APP,
      "content-type": "application/x-www-form-urlencoded",
    },
    body,
    redirect: "manual",
  });
}

/** A fresh Add endpoint form: the one-time token the Webhooks page puts in it. */
export async function addEndpointFormToken(browser: TestBrowser): Promise<string> {
  const { html } = await browser.page(WEBHOOKS);
  return /name="formToken" value="([^"]+)"/.exec(html)?.[1] ?? "";
}

/** Submits Add endpoint as the browser does: the page's form (a fresh token unless `formToken` is given). */
export async function submitAddEndpoint(
  browser: TestBrowser,
  fields: [string, string][],
  options: { formToken?: string; csrf?: boolean } = {},
) {
  const formToken = options.formToken ?? (await addEndpointFormToken(browser));
  return postForm(browser, WEBHOOKS, [...fields, ["formToken", formToken]], options);
}

export const endpointFields = (url: string, types: string[]): [string, string][] => [
  ["url", url],
  ...types.map((t): [string, string] => ["eventTypes", t]),
];

/** Adds an endpoint on Settings → Webhooks and reads the secret the page shows once. */
export async function addEndpoint(browser: TestBrowser, url: string, types: string[]) {
  const response = await submitAddEndpoint(browser, endpointFields(url, types));
  const html = await response.text();
  if (response.status !== 200) throw new Error(`add endpoint: ${response.status} ${html.slice(0, 300)}`);
  const secret = /id="signing-secret"[^>]*value="(whsec_[^"]+)"/.exec(html)?.[1];
  // The page's own link: the alerts banner above it may link to another endpoint, one disabled as failing.
  const id = /href="\/settings\/webhooks\/([0-9a-f-]{36})">Go to the endpoint</.exec(html)?.[1];
  if (!secret || !id) throw new Error("the page did not show the secret and the endpoint");
  return { id, secret, html };
}

export async function endpointRow(id: string) {
  return env.DB.prepare("select * from webhook_endpoints where id = ?").bind(id).first<Record<string, unknown>>();
}

export async function outboxCount(type?: string) {
  const row = await env.DB.prepare(`select count(*) as n from webhook_events where ${type ? "type = ?" : "1"}`)
    .bind(...(type ? [type] : []))
    .first<{ n: number }>();
  return row!.n;
}

/**
 * An endpoint disabled the way deliveries disable one: added on Settings → Webhooks, its receiver
 * `name` answering 503, and Send test event, whose delivery by the app's own queue consumer is the
 * failure that disables it. A day cannot pass in a test, so the streak before that failure is
 * written as the "disable an endpoint" delivery test writes it: failing for a day, one failure
 * short of the limit.
 */
export async function disabledAsFailing(browser: TestBrowser, name: string, url = receiverUrl(name)) {
  const endpoint = await addEndpoint(browser, url, ["member.deactivated"]);
  await receiverAnswers(name, { status: 503 });
  await env.DB.prepare("update webhook_endpoints set failing_since = ?, consecutive_failures = ? where id = ?")
    .bind(Date.now() - DAY_MS - 1000, FAILURES_BEFORE_DISABLING - 1, endpoint.id)
    .run();
  await browser.page(`${WEBHOOKS}/${endpoint.id}`);
  const sent = await postForm(browser, `${WEBHOOKS}/${endpoint.id}/test`, []);
  if (sent.status !== 303) throw new Error(`send test event: ${sent.status}`);
  const deadline = Date.now() + 30_000;
  while ((await endpointRow(endpoint.id))?.disabled_reason !== "failing") {
    if (Date.now() > deadline) throw new Error(`endpoint not disabled: ${JSON.stringify(await endpointRow(endpoint.id))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return endpoint;
}
