import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { entraUser, googleAccount } from "../demo/directory.ts";
import { TestBrowser, countRows } from "./support/browser.ts";
import { resetEmulator } from "./support/emulator.ts";
import { resetDemoWorld } from "./support/world.ts";
import { linkMember } from "./support/people.ts";

beforeEach(resetEmulator);

describe("sign-in page", () => {
  it("offers Microsoft and Google", async () => {
    const { status, html } = await new TestBrowser().page("/sign-in");
    expect(status).toBe(200);
    expect(html).toContain("Sign in with Microsoft");
    expect(html).toContain("Sign in with Google");
  });

  it("sends signed-out visitors of a page to sign-in", async () => {
    const response = await new TestBrowser().get("/users");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/sign-in");
  });
});

describe("Microsoft sign-in", () => {
  it("signs Adele in through the emulator with PKCE, state and nonce", async () => {
    const browser = new TestBrowser();
    const start = await browser.get("/auth/microsoft");
    const authorize = new URL(start.headers.get("location")!);
    expect(authorize.pathname).toBe("/organizations/oauth2/v2.0/authorize");
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("state")).toBeTruthy();
    expect(authorize.searchParams.get("nonce")).toBeTruthy();
    expect(authorize.searchParams.get("redirect_uri")).toBe("http://localhost:8787/auth/microsoft/callback");

    const callback = await browser.returnFromProvider(await browser.authorizeAtEmulator(start, { account: entraUser("adele").oid }));
    expect(callback.status).toBe(302);
    expect(callback.headers.get("location")).toBe("/");
    const cookie = callback.headers.getSetCookie().find((c) => c.startsWith("__Host-uniasset_session="))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//);

    const home = await browser.page("/");
    expect(home.status).toBe(200);
    expect(home.html).toContain("Welcome, Adele Vance");
    expect(home.html).toContain("Contoso");
  });

  it("stores only a hash of the session token", async () => {
    const browser = new TestBrowser();
    await browser.signInWithMicrosoft(entraUser("adele").oid);
    const token = browser.cookies.get("__Host-uniasset_session")!;
    const stored = await env.DB.prepare("select token_hash from sessions where token_hash = ?").bind(token).first();
    expect(stored).toBeNull();
    expect(await countRows("sessions")).toBeGreaterThan(0);
  });

  it("rotates the session at every sign-in", async () => {
    const browser = new TestBrowser();
    await browser.signInWithMicrosoft(entraUser("adele").oid);
    const first = browser.cookies.get("__Host-uniasset_session");
    await browser.signInWithMicrosoft(entraUser("adele").oid);
    const second = browser.cookies.get("__Host-uniasset_session");
    expect(second).not.toBe(first);
    const stale = new TestBrowser();
    stale.cookies.set("__Host-uniasset_session", first!);
    expect((await stale.get("/")).status).toBe(302);
  });

  for (const [expiry, column, value] of [
    ["idle", "last_seen_at", 0],
    ["absolute", "expires_at", 1],
  ] as const) {
    it(`ends a session past its ${expiry} expiry`, async () => {
      const browser = new TestBrowser();
      await browser.signInWithMicrosoft(entraUser("adele").oid);
      expect((await browser.get("/")).status).toBe(200);
      await env.DB.prepare(`update sessions set ${column} = ?`).bind(value).run();
      const before = await countRows("sessions");
      const response = await browser.get("/");
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/sign-in");
      expect(await countRows("sessions")).toBe(before - 1);
    });
  }

  it("refuses a person with no UniAsset account with a clear page", async () => {
    const browser = new TestBrowser();
    const before = await countRows("users");
    const callback = await browser.signInWithMicrosoft(entraUser("megan").oid);
    expect(callback.status).toBe(403);
    const html = await callback.text();
    expect(html).toContain("No UniAsset account");
    expect(html).toContain("invite you");
    expect(await countRows("users")).toBe(before);
    expect(browser.cookies.has("__Host-uniasset_session")).toBe(false);
  });

  it("refuses a deactivated member", async () => {
    // Megan is enabled in Entra but her UniAsset membership was deactivated by hand.
    const megan = entraUser("megan");
    await linkMember("megan", { status: "deactivated" });
    const browser = new TestBrowser();
    const callback = await browser.signInWithMicrosoft(megan.oid);
    expect(callback.status).toBe(403);
    expect(await callback.text()).toContain("Your account is deactivated");
    expect(browser.cookies.has("__Host-uniasset_session")).toBe(false);
  });

  it("signs out and ends the session", async () => {
    const browser = new TestBrowser();
    await browser.signInWithMicrosoft(entraUser("adele").oid);
    const token = browser.cookies.get("__Host-uniasset_session")!;
    await browser.page("/");
    const out = await browser.post("/sign-out");
    expect(out.status).toBe(302);
    expect(out.headers.get("location")).toBe("/sign-in");
    const replay = new TestBrowser();
    replay.cookies.set("__Host-uniasset_session", token);
    expect((await replay.get("/")).status).toBe(302);
  });
});

describe("Google sign-in", () => {
  it("accepts Pat's pending invitation and links the Google identity", async () => {
    const browser = new TestBrowser();
    const callback = await browser.signInWithGoogle(googleAccount("pat").sub);
    expect(callback.status).toBe(302);
    const home = await browser.page("/");
    expect(home.html).toContain("Welcome, Pat Kim");
    expect(home.html).toContain("Viewer");
    const identity = await env.DB.prepare("select provider from identities where subject = ?")
      .bind(googleAccount("pat").sub)
      .first<{ provider: string }>();
    expect(identity?.provider).toBe("google");
    const invitation = await env.DB.prepare("select accepted_at from invitations where email = ?")
      .bind("pat@gmail.example")
      .first<{ accepted_at: number | null }>();
    expect(invitation?.accepted_at).toBeTypeOf("number");

    // The next sign-in goes through the linked identity.
    const again = new TestBrowser();
    await again.signInWithGoogle(googleAccount("pat").sub);
    expect((await again.page("/")).html).toContain("Welcome, Pat Kim");
  });

  it("refuses Sam, who has no invitation", async () => {
    const browser = new TestBrowser();
    const callback = await browser.signInWithGoogle(googleAccount("sam").sub);
    expect(callback.status).toBe(403);
    expect(await callback.text()).toContain("There is no UniAsset account for sam@gmail.example");
  });
});

describe("two first sign-ins of one person at the same moment", () => {
  it("create one user with one membership, and both browsers are signed in", async () => {
    await resetDemoWorld(); // Pat has not signed in yet; her invitation is open

    const first = new TestBrowser();
    const second = new TestBrowser();
    const callbacks = await Promise.all(
      [first, second].map(async (browser) => {
        const start = await browser.get("/auth/google");
        return new URL((await browser.authorizeAtEmulator(start, { account: googleAccount("pat").sub })).headers.get("location")!);
      }),
    );
    const responses = await Promise.all([first.get(callbacks[0]!.toString()), second.get(callbacks[1]!.toString())]);
    expect(responses.map((r) => r.status)).toEqual([302, 302]);
    const users = await env.DB.prepare("select count(*) as n from users where email = 'pat@gmail.example'").first<{ n: number }>();
    expect(users?.n).toBe(1);
    const memberships = await env.DB.prepare(
      "select count(*) as n from memberships m join identities i on i.user_id = m.user_id where i.subject = ?",
    )
      .bind(googleAccount("pat").sub)
      .first<{ n: number }>();
    expect(memberships?.n).toBe(1);
  });
});
