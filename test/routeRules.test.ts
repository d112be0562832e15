// The request rules of each sub-app (src/routes/mount.ts), declared where app.tsx mounts it: they
// hold for the sub-app's own routes wherever it is mounted, and a sub-app mounted without any gets
// the safe ones (session loaded, CSRF checked, only GETs read from a replica).
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { Hono } from "hono";
import { beforeAll, describe, expect, it } from "vitest";
import { entraUser } from "../demo/directory.ts";
import { SUB_APPS, buildApp } from "../src/app.tsx";
import type { AppContext } from "../src/context.ts";
import { PATHS, REALTIME_NOTIFICATION_PATHS, signInStartPath } from "../src/paths.ts";
import { subApp, type SubApp } from "../src/routes/mount.ts";
import { realtimeRoutes } from "../src/routes/realtime.ts";
import { APP, type TestBrowser } from "./support/browser.ts";
import { countingD1, emptyD1Counter, type D1Counter } from "./support/d1Counter.ts";
import { signedIn } from "./support/people.ts";
import { measureCallback } from "./support/signInCost.ts";
import { resetDemoWorld } from "./support/world.ts";

const FOREIGN = "https://elsewhere.example";
let adele: TestBrowser;

beforeAll(async () => {
  await resetDemoWorld();
  adele = await signedIn("adele");
});

/** One request through an app built from `subApps`, with Adele's cookies unless told otherwise, its D1 use counted. */
async function send(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: BodyInit; subApps?: readonly SubApp[]; browser?: TestBrowser } = {},
): Promise<{ response: Response; d1: D1Counter }> {
  const browser = init.browser ?? adele;
  const d1 = emptyD1Counter();
  const ctx = createExecutionContext();
  const request = new Request(new URL(path, APP), {
    method: init.method ?? "GET",
    headers: { cookie: browser.cookieHeader(), "cf-connecting-ip": browser.ip, ...init.headers },
    body: init.body,
    redirect: "manual",
  });
  const response = await buildApp(init.subApps).fetch(request, { ...env, DB: countingD1(env.DB, d1) }, ctx);
  await waitOnExecutionContext(ctx);
  return { response, d1 };
}

/** A sub-app as a new feature would add it: it says whether it saw a viewer, and accepts a POST. */
function probeRoutes() {
  const probe = new Hono<AppContext>();
  probe.get("/", (c) => c.json({ signedIn: c.get("viewer") !== null }));
  probe.post("/", (c) => c.json({ accepted: true }));
  return probe;
}

const handshake = (base: string = PATHS.realtime) => `${base}${REALTIME_NOTIFICATION_PATHS.changes}?validationToken=graph-says-hello`;

describe("Microsoft Graph's notification route (a machine caller)", () => {
  it("answers a POST from no browser itself: no session read, no CSRF token or Origin asked for", async () => {
    const { response, d1 } = await send(handshake(), {
      method: "POST",
      headers: { origin: FOREIGN, "content-type": "text/plain" },
      body: "",
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("graph-says-hello");
    // Adele's session cookie went along, and nothing read it: the handshake alone touches no D1.
    expect(d1.roundTrips, d1.log.join("\n")).toBe(0);
  });

  it("is held to its own body limit, not to the browsers' 64 KB", async () => {
    const body = "x".repeat(100 * 1024);
    const { response } = await send(handshake(), { method: "POST", headers: { "content-type": "text/plain" }, body });
    expect(response.status).toBe(200);
  });

  it("keeps its rules when its path is renamed, and the old path keeps none of them", async () => {
    const renamed = SUB_APPS.map((s) =>
      s.routes === realtimeRoutes ? subApp("/graph-renamed", realtimeRoutes, { caller: "machine" }) : s,
    );
    const moved = await send(handshake("/graph-renamed"), { method: "POST", headers: { origin: FOREIGN }, body: "", subApps: renamed });
    expect(moved.response.status).toBe(200);
    const old = await send(handshake(), { method: "POST", headers: { origin: FOREIGN }, body: "", subApps: renamed });
    expect(old.response.status).toBe(403); // a browser's POST from another origin: refused before anything runs
  });
});

describe("sign-in's round trip", () => {
  it("starts without reading the session of a signed-in browser", async () => {
    const { response, d1 } = await send(signInStartPath("microsoft"));
    expect(response.status).toBe(302);
    expect(d1.roundTrips, d1.log.join("\n")).toBe(0);
  });

  it("completes in its two D1 round trips with a session cookie present: none of them reads that session", async () => {
    const again = await signedIn("adele");
    const cost = await measureCallback("microsoft", entraUser("adele").oid, again);
    expect(cost.status).toBe(302);
    expect(cost.d1.roundTrips, cost.d1.log.join("\n")).toBe(2);
  });

  it("is its own sub-app: the sign-in page beside it reads the session (a signed-in person goes home)", async () => {
    const { response, d1 } = await send(PATHS.signIn);
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(PATHS.home);
    expect(d1.roundTrips).toBeGreaterThan(0);
  });
});

describe("where GETs read", () => {
  it("the Connect Entra ID callback reads from the primary", async () => {
    const { response, d1 } = await send(PATHS.entraCallback);
    expect(response.status).toBe(303); // no round trip in progress: back to the page with a failure
    expect(d1.sessions[0]).toBe("first-primary");
  });

  it("the setup link's callback reads from the primary", async () => {
    const { response, d1 } = await send(`${PATHS.setupCallback}?error=access_denied&state=none-started`, { browser: adele });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(d1.sessions[0]).toBe("first-primary");
  });

  it("their neighbours' GETs may read from a replica", async () => {
    for (const path of [PATHS.entra, `${PATHS.setup}/${"A".repeat(43)}`]) {
      const { d1 } = await send(path);
      expect(d1.sessions[0], path).not.toBe("first-primary");
    }
  });
});

describe("a sub-app mounted without rules", () => {
  const withProbe = [...SUB_APPS, subApp("/probe", probeRoutes())];
  // Mounted under the machine caller's base path: rules belong to sub-apps, not to path prefixes.
  const underMachine = [...SUB_APPS, subApp(`${PATHS.realtime}/probe`, probeRoutes())];

  it("loads the session, and its GETs may read from a replica", async () => {
    const { response, d1 } = await send("/probe", { subApps: withProbe });
    expect(await response.json()).toEqual({ signedIn: true });
    expect(d1.sessions[0]).not.toBe("first-primary");
  });

  for (const [name, subApps, base] of [
    ["at its own path", withProbe, "/probe"],
    ["under the machine caller's path", underMachine, `${PATHS.realtime}/probe`],
  ] as const) {
    it(`checks CSRF on a POST ${name}, and reads from the primary`, async () => {
      const foreign = await send(base, { method: "POST", headers: { origin: FOREIGN }, subApps });
      expect(foreign.response.status).toBe(403);
      const tokenless = await send(base, { method: "POST", headers: { origin: APP }, subApps });
      expect(tokenless.response.status).toBe(403);
      const genuine = await send(base, { method: "POST", headers: { origin: APP, "x-csrf-token": adele.csrfToken! }, subApps });
      expect(genuine.response.status).toBe(200);
      expect(genuine.d1.sessions[0]).toBe("first-primary");
    });
  }
});
