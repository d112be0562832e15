// Tampered, replayed and failing OAuth callbacks: each gets the one refusal it should, no new session,
// and writes nothing.
import { beforeEach, describe, expect, it } from "vitest";
import { entraUser, googleAccount } from "../demo/directory.ts";
import { TestBrowser, countRows } from "./support/browser.ts";
import { emulatorAdmin, resetEmulator } from "./support/emulator.ts";

const ADELE = entraUser("adele").oid;
const SESSION_COOKIE = "__Host-uniasset_session";
const FLOW_COOKIE = "__Host-uniasset_flow";

beforeEach(resetEmulator);

async function snapshot() {
  return {
    users: await countRows("users"),
    identities: await countRows("identities"),
    memberships: await countRows("memberships"),
    sessions: await countRows("sessions"),
  };
}

/** The emulator's redirect back to the app, for a flow started in `browser`. */
async function providerRedirect(browser: TestBrowser, path = "/auth/microsoft", account = ADELE): Promise<URL> {
  const start = await browser.get(path);
  const back = await browser.authorizeAtEmulator(start, { account });
  return new URL(back.headers.get("location")!);
}

/** The two refusals a callback can end in: each test names the one it expects. */
const SIGN_IN_FAILED = { status: 400, title: "Sign-in did not complete" };
const PROVIDER_UNAVAILABLE = { status: 502, title: "The sign-in provider is unavailable" };

/**
 * `browser` opens `callback` and gets `refusal`: its status and page title. Nothing is written, and
 * the browser's session cookie is what it was (none for a browser that was not signed in).
 */
async function expectRefused(browser: TestBrowser, callback: URL, refusal: { status: number; title: string }) {
  const before = await snapshot();
  const sessionBefore = browser.cookies.get(SESSION_COOKIE);
  const response = await browser.get(callback.toString());
  expect(response.status).toBe(refusal.status);
  const html = await response.text();
  expect(html).toContain(`<title>${refusal.title} · UniAsset</title>`);
  expect(browser.cookies.get(SESSION_COOKIE)).toBe(sessionBefore);
  expect(await snapshot()).toEqual(before);
  return html;
}

describe("a tampered or replayed callback", () => {
  it("is refused when state is missing", async () => {
    const browser = new TestBrowser();
    const callback = await providerRedirect(browser);
    callback.searchParams.delete("state");
    expect(await expectRefused(browser, callback, SIGN_IN_FAILED)).toContain("match the sign-in you started");
  });

  it("is refused when state is wrong", async () => {
    const browser = new TestBrowser();
    const callback = await providerRedirect(browser);
    callback.searchParams.set("state", "forged-state-value");
    expect(await expectRefused(browser, callback, SIGN_IN_FAILED)).toContain("match the sign-in you started");
  });

  it("is refused in a browser that did not start the sign-in", async () => {
    const victim = new TestBrowser();
    const callback = await providerRedirect(new TestBrowser());
    const html = await expectRefused(victim, callback, SIGN_IN_FAILED);
    expect(html).toContain("started in another browser");
  });

  it("is refused when the browser replays its own callback after a successful sign-in", async () => {
    const browser = new TestBrowser();
    const callback = await providerRedirect(browser);
    const flowHandle = browser.cookies.get(FLOW_COOKIE);
    expect(flowHandle).toBeDefined();
    const signedIn = await browser.get(callback.toString());
    expect(signedIn.status).toBe(302);
    expect(signedIn.headers.get("location")).toBe("/");
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(true);

    // Back button or reload: the same URL in the same browser, with its cookies as they now are
    // (signed in, the flow cookie cleared by the callback). No second session, nothing written.
    const html = await expectRefused(browser, callback, SIGN_IN_FAILED);
    expect(html).toContain("already used");

    // The very request replayed, flow cookie and all: the flow was consumed on the server too.
    browser.cookies.set(FLOW_COOKIE, flowHandle!);
    expect(await expectRefused(browser, callback, SIGN_IN_FAILED)).toContain("already used");
  });

  it("is refused when a used code is presented with a fresh state (replayed code)", async () => {
    const first = new TestBrowser();
    const used = await providerRedirect(first);
    expect((await first.get(used.toString())).status).toBe(302);
    const second = new TestBrowser();
    const fresh = await providerRedirect(second);
    fresh.searchParams.set("code", used.searchParams.get("code")!);
    const html = await expectRefused(second, fresh, SIGN_IN_FAILED);
    expect(html).toContain("code was refused");
  });

  it("is refused when the code was issued for another PKCE challenge", async () => {
    const other = new TestBrowser();
    const stolen = await providerRedirect(other); // never redeemed by its owner
    const browser = new TestBrowser();
    const mine = await providerRedirect(browser);
    mine.searchParams.set("code", stolen.searchParams.get("code")!);
    const html = await expectRefused(browser, mine, SIGN_IN_FAILED);
    expect(html).toContain("code was refused");
  });
});

describe("an ID token that fails validation", () => {
  for (const kind of ["aud", "iss", "tid", "expired", "nonce", "signature"] as const) {
    it(`is refused when ${kind} is wrong (Microsoft)`, async () => {
      const browser = new TestBrowser();
      const callback = await providerRedirect(browser);
      await emulatorAdmin("tamper", { kind });
      const html = await expectRefused(browser, callback, SIGN_IN_FAILED);
      expect(html).toContain("could not be verified");
    });
  }

  for (const kind of ["aud", "iss", "expired", "nonce", "signature"] as const) {
    it(`is refused when ${kind} is wrong (Google)`, async () => {
      const browser = new TestBrowser();
      const callback = await providerRedirect(browser, "/auth/google", googleAccount("pat").sub);
      await emulatorAdmin("tamper", { kind });
      expect(await expectRefused(browser, callback, SIGN_IN_FAILED)).toContain("could not be verified");
    });
  }
});

describe("the provider failing", () => {
  it("says so when the token endpoint answers 500", async () => {
    const browser = new TestBrowser();
    const callback = await providerRedirect(browser);
    await emulatorAdmin("faults", { endpoint: "token", status: 500 });
    const html = await expectRefused(browser, callback, PROVIDER_UNAVAILABLE);
    expect(html).toContain("reach the sign-in provider");
  });

  it("says so when the token endpoint is unreachable", async () => {
    const browser = new TestBrowser();
    const callback = await providerRedirect(browser);
    await emulatorAdmin("faults", { endpoint: "token", networkError: true });
    expect(await expectRefused(browser, callback, PROVIDER_UNAVAILABLE)).toContain("reach the sign-in provider");
  });

  it("explains a cancelled sign-in", async () => {
    const browser = new TestBrowser();
    const start = await browser.get("/auth/microsoft");
    const back = await browser.authorizeAtEmulator(start, { cancel: true });
    const html = await expectRefused(browser, new URL(back.headers.get("location")!), SIGN_IN_FAILED);
    expect(html).toContain("Sign-in was cancelled");
  });
});
