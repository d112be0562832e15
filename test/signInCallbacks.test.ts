// Tampered and failing OAuth callbacks: each gets a clear page, no session, and writes nothing.
import { beforeEach, describe, expect, it } from "vitest";
import { entraUser, googleAccount } from "../demo/directory.ts";
import { TestBrowser, countRows } from "./support/browser.ts";
import { emulatorAdmin, resetEmulator } from "./support/emulator.ts";

const ADELE = entraUser("adele").oid;

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

async function expectRefused(browser: TestBrowser, callback: URL, before: Awaited<ReturnType<typeof snapshot>>, status = 400) {
  const response = await browser.get(callback.toString());
  expect(response.status).toBe(status);
  const html = await response.text();
  expect(html).toMatch(/Sign-in did not complete|sign-in provider is unavailable/);
  expect(browser.cookies.has("__Host-uniasset_session")).toBe(false);
  expect(await snapshot()).toEqual(before);
  return html;
}

describe("a tampered or replayed callback", () => {
  it("is refused when state is missing", async () => {
    const browser = new TestBrowser();
    const callback = await providerRedirect(browser);
    callback.searchParams.delete("state");
    const before = await snapshot();
    await expectRefused(browser, callback, before);
  });

  it("is refused when state is wrong", async () => {
    const browser = new TestBrowser();
    const callback = await providerRedirect(browser);
    callback.searchParams.set("state", "forged-state-value");
    await expectRefused(browser, callback, await snapshot());
  });

  it("is refused in a browser that did not start the sign-in", async () => {
    const victim = new TestBrowser();
    const callback = await providerRedirect(new TestBrowser());
    const html = await expectRefused(victim, callback, await snapshot());
    expect(html).toContain("started in another browser");
  });

  it("is refused when replayed after a successful sign-in", async () => {
    const browser = new TestBrowser();
    const callback = await providerRedirect(browser);
    expect((await browser.get(callback.toString())).status).toBe(302);
    const attacker = new TestBrowser();
    attacker.cookies.set("__Host-uniasset_flow", "stolen");
    await expectRefused(attacker, callback, await snapshot());
  });

  it("is refused when a used code is presented with a fresh state (replayed code)", async () => {
    const first = new TestBrowser();
    const used = await providerRedirect(first);
    expect((await first.get(used.toString())).status).toBe(302);
    const second = new TestBrowser();
    const fresh = await providerRedirect(second);
    fresh.searchParams.set("code", used.searchParams.get("code")!);
    const html = await expectRefused(second, fresh, await snapshot());
    expect(html).toContain("code was refused");
  });

  it("is refused when the code was issued for another PKCE challenge", async () => {
    const other = new TestBrowser();
    const stolen = await providerRedirect(other); // never redeemed by its owner
    const browser = new TestBrowser();
    const mine = await providerRedirect(browser);
    mine.searchParams.set("code", stolen.searchParams.get("code")!);
    const html = await expectRefused(browser, mine, await snapshot());
    expect(html).toContain("code was refused");
  });
});

describe("an ID token that fails validation", () => {
  for (const kind of ["aud", "iss", "tid", "expired", "nonce", "signature"] as const) {
    it(`is refused when ${kind} is wrong (Microsoft)`, async () => {
      const browser = new TestBrowser();
      const callback = await providerRedirect(browser);
      await emulatorAdmin("tamper", { kind });
      const html = await expectRefused(browser, callback, await snapshot());
      expect(html).toContain("could not be verified");
    });
  }

  for (const kind of ["aud", "iss", "expired", "nonce", "signature"] as const) {
    it(`is refused when ${kind} is wrong (Google)`, async () => {
      const browser = new TestBrowser();
      const callback = await providerRedirect(browser, "/auth/google", googleAccount("pat").sub);
      await emulatorAdmin("tamper", { kind });
      await expectRefused(browser, callback, await snapshot());
    });
  }
});

describe("the provider failing", () => {
  it("says so when the token endpoint answers 500", async () => {
    const browser = new TestBrowser();
    const callback = await providerRedirect(browser);
    await emulatorAdmin("faults", { endpoint: "token", status: 500 });
    const html = await expectRefused(browser, callback, await snapshot(), 502);
    expect(html).toContain("reach the sign-in provider");
  });

  it("says so when the token endpoint is unreachable", async () => {
    const browser = new TestBrowser();
    const callback = await providerRedirect(browser);
    await emulatorAdmin("faults", { endpoint: "token", networkError: true });
    await expectRefused(browser, callback, await snapshot(), 502);
  });

  it("explains a cancelled sign-in", async () => {
    const browser = new TestBrowser();
    const start = await browser.get("/auth/microsoft");
    const back = await browser.authorizeAtEmulator(start, { cancel: true });
    const html = await expectRefused(browser, new URL(back.headers.get("location")!), await snapshot());
    expect(html).toContain("Sign-in was cancelled");
  });
});
