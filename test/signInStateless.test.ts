// Sign-in in two D1 round trips, with nothing written for anonymous visitors: the round trip lives
// in a sealed cookie (tampered, expired, replayed or foreign cookies are refused), single use is
// enforced by the callback's own write, every callback case costs ≤ 2 D1 and ≤ 1 Graph round
// trips, and a rate limit stands in front of starts and callbacks.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, GROUP_IDS, entraUser, googleAccount } from "../demo/directory.ts";
import { buildApp } from "../src/app.tsx";
import { openFlow, sealFlow } from "../src/auth/flows.ts";
import { TestBrowser, countRows } from "./support/browser.ts";
import { countingD1, emptyD1Counter } from "./support/d1Counter.ts";
import { contosoRoleOf, mapGroup } from "./support/directory.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { connectContoso } from "./support/entra.ts";
import { measureCallback } from "./support/signInCost.ts";
import { resetDemoWorld } from "./support/world.ts";

const FLOW_COOKIE = "__Host-uniasset_flow";
const ADELE = entraUser("adele").oid;
const app = buildApp();

beforeEach(resetDemoWorld);

async function everyRowCount(): Promise<Record<string, number>> {
  const tables = await env.DB.prepare(
    "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '_cf_%' and name != 'd1_migrations'",
  ).all<{ name: string }>();
  const counts: Record<string, number> = {};
  for (const { name } of tables.results) {
    counts[name] = (await env.DB.prepare(`select count(*) as n from "${name}"`).first<{ n: number }>())!.n;
  }
  return counts;
}

async function snapshot() {
  return { users: await countRows("users"), memberships: await countRows("memberships"), sessions: await countRows("sessions") };
}

describe("starting a sign-in", () => {
  it("writes nothing and reads nothing, however many anonymous visitors start one", async () => {
    const before = await everyRowCount();
    const d1 = emptyD1Counter();
    for (let i = 0; i < 50; i++) {
      const ctx = createExecutionContext();
      const response = await app.fetch(
        new Request(`http://localhost:8787/auth/${i % 2 ? "google" : "microsoft"}`, {
          headers: { "cf-connecting-ip": `192.0.2.${i + 1}` },
        }),
        { ...env, DB: countingD1(env.DB, d1) },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(response.status).toBe(302);
      const cookie = response.headers.getSetCookie().find((c) => c.startsWith(`${FLOW_COOKIE}=`))!;
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/Secure/i);
      expect(cookie).toMatch(/Path=\//);
      expect(cookie).toMatch(/Max-Age=600/);
    }
    expect(d1.roundTrips).toBe(0);
    expect(await everyRowCount()).toEqual(before);
  });

  it("keeps state, nonce and verifier out of the cookie's clear text", async () => {
    const browser = new TestBrowser();
    const start = await browser.get("/auth/microsoft");
    const authorize = new URL(start.headers.get("location")!);
    const cookie = browser.cookies.get(FLOW_COOKIE)!;
    expect(cookie).not.toContain(authorize.searchParams.get("state")!);
    expect(cookie).not.toContain(authorize.searchParams.get("nonce")!);
    const flow = (await openFlow(env.TOKEN_ENCRYPTION_KEYS, cookie, "sign_in_microsoft", Date.now()))!;
    expect(flow.state).toBe(authorize.searchParams.get("state"));
  });
});

describe("a flow cookie that is not good", () => {
  async function callbackWith(mutate: (cookie: string, browser: TestBrowser) => Promise<string> | string) {
    const browser = new TestBrowser();
    const start = await browser.get("/auth/microsoft");
    const back = await browser.authorizeAtEmulator(start, { account: ADELE });
    browser.cookies.set(FLOW_COOKIE, await mutate(browser.cookies.get(FLOW_COOKIE)!, browser));
    const before = await snapshot();
    const response = await browser.get(back.headers.get("location")!);
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toContain("Sign-in did not complete");
    expect(html).toContain("expired or was already used");
    expect(browser.cookies.has("__Host-uniasset_session")).toBe(false);
    expect(await snapshot()).toEqual(before);
  }

  it("is refused when its ciphertext was altered", async () => {
    await callbackWith((cookie) => {
      const parts = cookie.split(".");
      const sealed = parts[3]!;
      parts[3] = (sealed[0] === "A" ? "B" : "A") + sealed.slice(1);
      return parts.join(".");
    });
  });

  it("is refused when its expiry was pushed back", async () => {
    await callbackWith((cookie) => {
      const parts = cookie.split(".");
      parts[1] = (parseInt(parts[1]!, 36) + 60_000).toString(36);
      return parts.join(".");
    });
  });

  it("is refused once expired", async () => {
    await callbackWith(async (cookie) => {
      const flow = (await openFlow(env.TOKEN_ENCRYPTION_KEYS, cookie, "sign_in_microsoft", Date.now()))!;
      return sealFlow(env.TOKEN_ENCRYPTION_KEYS, { ...flow, expiresAt: Date.now() - 1 });
    });
  });

  it("is refused when sealed for another flow (Connect Entra ID)", async () => {
    await callbackWith(async (cookie) => {
      const flow = (await openFlow(env.TOKEN_ENCRYPTION_KEYS, cookie, "sign_in_microsoft", Date.now()))!;
      return sealFlow(env.TOKEN_ENCRYPTION_KEYS, { ...flow, purpose: "connect_entra" });
    });
  });

  it("is refused when sealed under a key the app does not hold", async () => {
    await callbackWith(async (cookie) => {
      const flow = (await openFlow(env.TOKEN_ENCRYPTION_KEYS, cookie, "sign_in_microsoft", Date.now()))!;
      const other = `k1:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
      return sealFlow(other, flow);
    });
  });

  it("is refused when it is garbage", async () => {
    await callbackWith(() => "k1.zzzz.AAAA.AAAA");
  });
});

describe("single use", () => {
  it("refuses a round trip whose state was already used, even with a fresh code the provider accepts", async () => {
    // First sign-in: its state is now used.
    const first = new TestBrowser();
    const start = await first.get("/auth/microsoft");
    const usedState = new URL(start.headers.get("location")!).searchParams.get("state")!;
    expect((await first.returnFromProvider(await first.authorizeAtEmulator(start, { account: ADELE }))).status).toBe(302);

    // A second round trip whose cookie carries the used state (as a replay with a stolen cookie
    // and a fresh code would): the provider redeems the code, our write refuses the state.
    const second = new TestBrowser();
    const again = await second.get("/auth/microsoft");
    const back = new URL((await second.authorizeAtEmulator(again, { account: ADELE })).headers.get("location")!);
    const flow = (await openFlow(env.TOKEN_ENCRYPTION_KEYS, second.cookies.get(FLOW_COOKIE)!, "sign_in_microsoft", Date.now()))!;
    second.cookies.set(FLOW_COOKIE, await sealFlow(env.TOKEN_ENCRYPTION_KEYS, { ...flow, state: usedState }));
    back.searchParams.set("state", usedState);
    const before = await snapshot();
    const response = await second.get(back.toString());
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("expired or was already used");
    expect(second.cookies.has("__Host-uniasset_session")).toBe(false);
    expect(await snapshot()).toEqual(before);
  });

  it("records each completed round trip once, for the nightly housekeeping to expire", async () => {
    await new TestBrowser().signInWithMicrosoft(ADELE);
    const row = await env.DB.prepare("select expires_at from used_flow_states").first<{ expires_at: number }>();
    expect(row!.expires_at).toBeGreaterThan(Date.now());
    expect(row!.expires_at).toBeLessThanOrEqual(Date.now() + 10 * 60 * 1000);
  });
});

describe("a stale read", () => {
  it("is caught by the write's premises: a member deactivated on the primary gets no session", async () => {
    // The callback reads its facts once; here they are made stale between that read and the write
    // by deactivating Adele while the directory is being asked (a fault delays Graph).
    await connectContoso(["group-role-mapping"]);
    await emulatorAdmin("faults", { endpoint: "memberOf", delayMs: 400, status: 200, body: { value: [] } });
    const browser = new TestBrowser();
    const start = await browser.get("/auth/microsoft");
    const back = await browser.authorizeAtEmulator(start, { account: ADELE });
    const callback = browser.get(back.headers.get("location")!);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await env.DB.prepare(
      "update memberships set status = 'deactivated', deactivated_reason = 'by_hand', deactivated_at = 1 where user_id = (select user_id from identities where subject = ?)",
    )
      .bind(ADELE)
      .run();
    const response = await callback;
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("deactivated");
    expect(browser.cookies.has("__Host-uniasset_session")).toBe(false);
  });
});

describe("the cost of a callback", () => {
  it("is at most 2 D1 and 1 Graph round trips in every case", async () => {
    const linked = await measureCallback("microsoft", ADELE);
    const invitation = await measureCallback("google", googleAccount("pat").sub);
    const adele = await connectContoso(["auto-provision", "group-role-mapping"]);
    await mapGroup(GROUP_IDS.uniassetAdmins, "UniAsset Admins", "admin");
    await mapGroup(GROUP_IDS.uniassetManagers, "UniAsset Managers", "manager");
    const provisioned = await measureCallback("microsoft", entraUser("megan").oid);
    const linkedMapped = await measureCallback("microsoft", entraUser("megan").oid);
    // A browser already signed in: the old session ends in the same write.
    const rotated = await measureCallback("microsoft", ADELE, adele);

    for (const [name, cost] of Object.entries({ linked, invitation, provisioned, linkedMapped, rotated })) {
      expect(cost.status, name).toBe(302);
      expect(cost.d1.roundTrips, `${name}: ${cost.d1.log.join("\n")}`).toBeLessThanOrEqual(2);
    }
    expect(linked.graphRoundTrips).toBe(0);
    expect(invitation.graphRoundTrips).toBe(0);
    expect(provisioned.graphRoundTrips).toBe(1); // user + groups in one $batch
    expect(provisioned.graphRequests).toBe(2);
    expect(linkedMapped.graphRoundTrips).toBe(1); // groups only
    expect(rotated.graphRoundTrips).toBe(1);
    expect((await contosoRoleOf(entraUser("megan").oid))?.role).toBe("manager");
  });

  it("a refusal after Graph costs no more (a member outside the verified domains)", async () => {
    await connectContoso(["auto-provision", "group-role-mapping"]);
    const { oid } = await emulatorAdmin<{ oid: string }>("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Ola Outside",
      userPrincipalName: "ola@elsewhere.example",
      mail: "ola@elsewhere.example",
    });
    const cost = await measureCallback("microsoft", oid);
    expect(cost.status).toBe(403);
    expect(cost.d1.roundTrips).toBeLessThanOrEqual(2);
    expect(cost.graphRoundTrips).toBe(1);
  });
});

describe("the rate limit", () => {
  it("answers 429 with a clear page once one address starts too many sign-ins, and writes nothing", async () => {
    const browser = new TestBrowser();
    const before = await everyRowCount();
    let limited: Response | undefined;
    // The limit is 60 a minute (wrangler.toml), counted in windows aligned to the clock's minutes: a
    // loop that crosses into the next minute starts counting again, so it may take 121 to be limited.
    for (let i = 0; i < 121 && !limited; i++) {
      const response = await browser.get("/auth/microsoft");
      if (response.status === 429) limited = response;
      else expect(response.status).toBe(302);
    }
    expect(limited).toBeDefined();
    expect(limited!.headers.get("retry-after")).toBe("60");
    expect(limited!.headers.get("set-cookie") ?? "").not.toContain(FLOW_COOKIE);
    const html = await limited!.text();
    expect(html).toContain("Too many sign-in attempts");
    expect(await everyRowCount()).toEqual(before);

    // The callback is limited too; another address is not.
    const callback = await browser.get("/auth/microsoft/callback?code=x&state=y");
    expect([400, 429]).toContain(callback.status);
    expect((await new TestBrowser().get("/auth/microsoft")).status).toBe(302);
  });
});
