// The directory alerts banner and the home page's Entra card: a held run, a failed last run, a
// connection that needs reconnect and a webhook endpoint disabled because it kept failing are shown
// to the Owners and Admins of that organization on every whole page until resolved, and to nobody
// else; the banner costs one D1 read for them and none for anyone else.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID } from "../demo/directory.ts";
import { buildApp } from "../src/app.tsx";
import { createDb } from "../src/db/client.ts";
import { alertsStateQuery, findAlertsState } from "../src/db/alertsState.ts";
import { renewsAt } from "../src/entra/realtime/subscription.ts";
import { nextNightlyRun } from "../src/entra/sync/schedule.ts";
import { webhookEndpointPath } from "../src/paths.ts";
import { SYNC_FAILURES } from "../views/parts/syncFailures.ts";
import { formatTime } from "../views/parts/badges.tsx";
import { APP, type TestBrowser } from "./support/browser.ts";
import { countingD1, emptyD1Counter } from "./support/d1Counter.ts";
import { ENTRA_PAGE, connectContoso, connectEntra, setFeature } from "./support/entra.ts";
import { emulatorAdmin } from "./support/emulator.ts";
import { DEMO_ORGS, DEMO_USER_IDS, addOrganization, contosoByRole, signedIn } from "./support/people.ts";
import { CONTOSO, SYNC, heldRun, latestRunId, nightlyRun, resetWorld, waitForRun } from "./sync/support.ts";
import { WEBHOOKS, addEndpoint, disabledAsFailing, forgetReceiver, postForm, receiverUrl } from "./events/support.ts";
import { graphSubscriptions, notificationFor, postToWebhook, withoutBurstWait } from "./realtime/support.ts";

const RECEIVERS = ["alerts", "alerts-2", "alerts-3"];
beforeEach(async () => {
  await resetWorld();
  for (const name of RECEIVERS) await forgetReceiver(name);
});

const BANNER = 'id="directory-alerts"';
/** Whole pages an Owner or Admin may open, the Entra page among them. */
const PAGES = ["/", "/users", "/settings", "/settings/integrations", "/audit", ENTRA_PAGE];

/** The kinds of alert the banner of `path` shows this browser, in order. */
async function alertsOn(browser: TestBrowser, path = "/"): Promise<string[]> {
  const { status, html } = await browser.page(path);
  expect(status, path).toBe(200);
  const kinds = [...html.matchAll(/data-alert="([a-z_]+)"/g)].map((m) => m[1]!);
  expect(html.includes(BANNER), `banner present iff alerts on ${path}`).toBe(kinds.length > 0);
  return kinds;
}

async function switchTo(browser: TestBrowser, organizationId: string) {
  const response = await browser.post("/organizations/switch", { organizationId });
  expect(response.status).toBe(302);
  await browser.page("/");
}

describe("a held run", () => {
  it("is shown to Owners and Admins on every page with a link to Apply or Dismiss, never to other roles, and goes once dismissed", {
    timeout: 60_000,
  }, async () => {
    const { adele, run } = await heldRun();
    const people = await contosoByRole();

    for (const path of PAGES) {
      expect(await alertsOn(adele, path), path).toEqual(["held"]);
      expect(await alertsOn(people.admin, path), path).toEqual(["held"]);
    }
    const { html } = await adele.page("/users");
    expect(html).toContain('role="alert"');
    expect(html).toContain("Directory sync: Held: nothing was changed.");
    expect(html).toMatch(/would deactivate 7 of \d+ linked members\./);
    expect(html).toContain(`<a href="${ENTRA_PAGE}#entra-sync">Review it: Apply or Dismiss</a>`);
    for (const role of ["manager", "member", "viewer"] as const) {
      for (const path of ["/", "/users"]) {
        const page = await people[role].page(path);
        if (page.status === 200) expect(page.html, `${role} ${path}`).not.toContain(BANNER);
        expect(page.html).not.toContain("Held: nothing was changed.");
      }
    }

    // htmx fragments never add a second banner: the sync section carries it only out of band, in
    // the slot it replaces (so Apply, Dismiss or a run ending updates it in place); others never.
    const section = await (await adele.get(SYNC, { "hx-request": "true" })).text();
    expect(section).toContain("Held: nothing was changed.");
    expect(section).toContain('<div id="directory-alerts-slot" hx-swap-oob="true">');
    expect(section.split(BANNER)).toHaveLength(2);
    const list = await (await adele.get("/users?q=a", { "hx-request": "true" })).text();
    expect(list).not.toContain(BANNER);
    expect((await adele.page(ENTRA_PAGE)).html.split(BANNER)).toHaveLength(2);

    const dismissed = await adele.post(`${SYNC}/runs/${run.id}/dismiss`, {}, { htmx: true });
    expect(dismissed.status).toBe(200);
    // The answer empties the page's banner slot out of band: the banner goes without a reload.
    const answer = await dismissed.text();
    expect(answer).toContain('<div id="directory-alerts-slot" hx-swap-oob="true"></div>');
    expect(answer).not.toContain(BANNER);
    for (const path of PAGES) expect(await alertsOn(adele, path), path).toEqual([]);
    expect(await alertsOn(people.admin)).toEqual([]);
  });

  it("goes once applied", { timeout: 60_000 }, async () => {
    const { adele, run } = await heldRun();
    expect(await alertsOn(adele, "/audit")).toEqual(["held"]);
    expect((await adele.post(`${SYNC}/runs/${run.id}/apply`, {}, { htmx: true })).status).toBe(200);
    expect(await alertsOn(adele, "/audit")).toEqual([]);
  });

  it("belongs to its organization: another organization's Owner, or the same person in another organization, never sees it", {
    timeout: 60_000,
  }, async () => {
    const { adele } = await heldRun();
    // Litware, an Enterprise organization with its own working connection: Lee is an Admin there,
    // and Adele an Owner too.
    const litware = await addOrganization("Litware");
    await env.DB.prepare(
      "insert into entra_connections (organization_id, status, tenant_id, tenant_name, auto_deprovision, connected_at, updated_at) values (?, 'connected', ?, 'Litware', 1, 1, 1)",
    )
      .bind(litware, crypto.randomUUID())
      .run();
    const lee = await signedIn("lee");
    await env.DB.prepare("insert into memberships (organization_id, user_id, role, status, created_at) values (?, ?, 'admin', 'active', 1)")
      .bind(litware, DEMO_USER_IDS.lee)
      .run();
    await switchTo(lee, litware);
    for (const path of ["/", "/settings"]) expect(await alertsOn(lee, path)).toEqual([]);

    await switchTo(adele, litware);
    expect(await alertsOn(adele, "/")).toEqual([]);
    expect((await adele.page("/")).html).toContain('id="glance-last-run">No sync has run yet.');
    await switchTo(adele, CONTOSO);
    expect(await alertsOn(adele, "/")).toEqual(["held"]);
  });
});

describe("the last run failed", () => {
  it("is shown with the reason until a later nightly or Sync now run ends otherwise; a preview does not resolve it", {
    timeout: 60_000,
  }, async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await emulatorAdmin("faults", { endpoint: "users", status: 500, times: 20 });
    expect(await nightlyRun()).toMatchObject({ status: "failed", error: "graph_unavailable" });

    expect(await alertsOn(adele, "/users")).toEqual(["failed"]);
    const { html } = await adele.page("/users");
    expect(html).toContain("Directory sync failed: nothing was changed.");
    expect(html).toContain(SYNC_FAILURES.graph_unavailable);
    expect(html).toContain(`<a href="${ENTRA_PAGE}#entra-sync">Open Directory sync</a>`);

    // A preview changes nobody, so it says nothing about whether leavers are being deactivated.
    await emulatorAdmin("faults", undefined, "DELETE");
    expect((await adele.post(`${SYNC}/preview`, {}, { htmx: true })).status).toBe(200);
    expect((await waitForRun(await latestRunId())).status).toBe("previewed");
    expect(await alertsOn(adele)).toEqual(["failed"]);

    // Turning Auto-deprovision off means no run is expected: nothing left to fix.
    await setFeature(adele, "auto-deprovision", false);
    expect(await alertsOn(adele)).toEqual([]);
    await setFeature(adele, "auto-deprovision", true);
    expect(await alertsOn(adele)).toEqual(["failed"]);

    expect(await nightlyRun()).toMatchObject({ status: "succeeded" });
    expect(await alertsOn(adele, "/users")).toEqual([]);
  });
});

describe("real-time reads count as runs that could change members (README, db/alertsState.ts)", () => {
  it("a failed real-time read raises the banner; one that succeeds after a failed night ends it", { timeout: 90_000 }, async () => {
    await using _ = await withoutBurstWait();
    const adele = await connectContoso(["auto-deprovision"]);
    expect(await nightlyRun()).toMatchObject({ status: "succeeded", mode: "full" });
    const [subscription] = await graphSubscriptions();
    const notify = async () => {
      const before = await latestRunId();
      expect((await postToWebhook("users", notificationFor(subscription!.id, subscription!.clientState))).status).toBe(202);
      const runId = await latestRunId();
      expect(runId).not.toBe(before);
      return waitForRun(runId);
    };

    await emulatorAdmin("faults", { endpoint: "delta", status: 500, times: 20 });
    expect(await notify()).toMatchObject({ trigger: "realtime", status: "failed", error: "graph_unavailable" });
    expect(await alertsOn(adele)).toEqual(["failed"]);

    await emulatorAdmin("faults", undefined, "DELETE");
    expect(await notify()).toMatchObject({ trigger: "realtime", status: "succeeded" });
    expect(await alertsOn(adele)).toEqual([]);

    await emulatorAdmin("faults", { endpoint: "delta", status: 500, times: 20 });
    expect(await nightlyRun()).toMatchObject({ status: "failed" });
    expect(await alertsOn(adele)).toEqual(["failed"]);
    await emulatorAdmin("faults", undefined, "DELETE");
    expect(await notify()).toMatchObject({ trigger: "realtime", status: "succeeded" });
    expect(await alertsOn(adele)).toEqual([]);
  });
});

describe("the connection needs reconnect", () => {
  it("is shown with Connect Entra ID again, alone, until the tenant is connected again", { timeout: 60_000 }, async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    await emulatorAdmin("grants/revoke", { tenantId: CONTOSO_TENANT_ID });
    await emulatorAdmin("access-tokens/expire");
    expect(await nightlyRun()).toMatchObject({ status: "failed", error: "needs_reconnect" });

    // The failed run's cause is the connection: one alert, with the connection's fix.
    expect(await alertsOn(adele, "/audit")).toEqual(["needs_reconnect"]);
    const { html } = await adele.page("/audit");
    expect(html).toContain("Microsoft Entra ID: Needs reconnect.");
    expect(html).toContain("admin consent was revoked or the sign-in grant expired");
    expect(html).toContain(`<a href="${ENTRA_PAGE}">Connect Entra ID again</a>`);

    const members = await contosoByRole();
    expect(await alertsOn(members.admin)).toEqual(["needs_reconnect"]);
    expect((await members.member.page("/")).html).not.toContain(BANNER);

    expect((await connectEntra(adele)).headers.get("location")).toBe(ENTRA_PAGE);
    // Reconnecting is the fix for the run that failed before it, too.
    expect(await alertsOn(adele, "/audit")).toEqual([]);
    expect(await alertsOn(members.admin)).toEqual([]);
  });
});

describe("a webhook endpoint disabled because it kept failing", () => {
  it("is shown to Owners and Admins on every page, though Entra ID was never connected, never to other roles, and goes once enabled again", {
    timeout: 60_000,
  }, async () => {
    const adele = await signedIn("adele");
    // A URL is the customer's text: its `&` must reach the page escaped (the URL policy already
    // percent-encodes `<`, `>` and quotes).
    const { id, secret } = await disabledAsFailing(adele, "alerts", `${receiverUrl("alerts")}?team=it&stage=<prod>`);
    const people = await contosoByRole();
    const pages = [...PAGES, WEBHOOKS, webhookEndpointPath(id)];

    for (const path of pages) expect(await alertsOn(adele, path), path).toEqual(["webhook_disabled"]);
    for (const path of ["/", "/users"]) expect(await alertsOn(people.admin, path), path).toEqual(["webhook_disabled"]);
    const { html } = await adele.page("/users");
    expect(html).toContain(
      `<strong>Webhook endpoint disabled:</strong> every delivery to <code>${receiverUrl("alerts")}?team=it&amp;stage=%3Cprod%3E</code> failed for 24 hours`,
    );
    expect(html).toContain("Fix the receiver, then enable it again.");
    expect(html).toContain(`<a href="${WEBHOOKS}/${id}">Open the endpoint</a>`);
    expect(html).not.toContain("stage=<prod>");
    expect(html).not.toContain(secret);
    expect(html).not.toContain("whsec_");
    // Nothing is connected: the home page's card says so, as before, under the banner.
    const home = (await adele.page("/")).html;
    expect(home).toContain(`<a href="${ENTRA_PAGE}">Connect Entra ID</a>`);
    expect(home).not.toContain('id="glance-status"');
    for (const role of ["manager", "member", "viewer"] as const) {
      for (const path of ["/", "/users"]) {
        const page = await people[role].page(path);
        if (page.status === 200) expect(page.html, `${role} ${path}`).not.toContain(BANNER);
        expect(page.html).not.toContain("Webhook endpoint disabled");
      }
    }

    // Enable, on the endpoint's page the banner links to, is the fix.
    await adele.page(webhookEndpointPath(id));
    expect((await postForm(adele, `${WEBHOOKS}/${id}/enable`, [])).status).toBe(303);
    for (const path of pages) expect(await alertsOn(adele, path), path).toEqual([]);
    expect(await alertsOn(people.admin)).toEqual([]);
  });

  it("counts several, linking to Settings → Webhooks, leaves out one disabled by hand, and goes once they are deleted", {
    timeout: 60_000,
  }, async () => {
    const adele = await signedIn("adele");
    const first = await disabledAsFailing(adele, "alerts");
    const second = await disabledAsFailing(adele, "alerts-2");
    const byHand = await addEndpoint(adele, receiverUrl("alerts-3"), ["member.deactivated"]);
    await adele.page(webhookEndpointPath(byHand.id));
    expect((await postForm(adele, `${WEBHOOKS}/${byHand.id}/disable`, [])).status).toBe(303);

    expect(await alertsOn(adele, "/users")).toEqual(["webhook_disabled"]);
    const { html } = await adele.page("/users");
    expect(html).toContain("<strong>2 webhook endpoints disabled:</strong> every delivery to each failed for 24 hours");
    expect(html).toContain(`<a href="${WEBHOOKS}">Open Settings → Webhooks</a>`);
    expect(html).not.toContain(`<code>${receiverUrl("alerts")}</code>`);

    // Another Enterprise organization of Adele's has no endpoints: nothing there.
    const litware = await addOrganization("Litware");
    await switchTo(adele, litware);
    expect(await alertsOn(adele, "/")).toEqual([]);
    await switchTo(adele, CONTOSO);

    await adele.page(webhookEndpointPath(first.id));
    expect((await postForm(adele, `${WEBHOOKS}/${first.id}/delete`, [])).status).toBe(303);
    expect(await alertsOn(adele, "/")).toEqual(["webhook_disabled"]);
    expect((await adele.page("/")).html).toContain(`every delivery to <code>${receiverUrl("alerts-2")}</code> failed for 24 hours`);
    await adele.page(webhookEndpointPath(second.id));
    expect((await postForm(adele, `${WEBHOOKS}/${second.id}/delete`, [])).status).toBe(303);
    expect(await alertsOn(adele, "/")).toEqual([]);
  });

  it("is not shown on other plans than Enterprise", { timeout: 60_000 }, async () => {
    const adele = await signedIn("adele");
    await disabledAsFailing(adele, "alerts");
    expect(await alertsOn(adele, "/users")).toEqual(["webhook_disabled"]);
    // A downgrade: nothing is sent to endpoints meanwhile, so there is nothing to fix from a banner.
    await env.DB.prepare("update organizations set plan = 'team' where id = ?").bind(CONTOSO).run();
    for (const path of ["/", "/users", WEBHOOKS]) expect(await alertsOn(adele, path), path).toEqual([]);
    await env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(CONTOSO).run();
    expect(await alertsOn(adele, "/users")).toEqual(["webhook_disabled"]);
  });

  it("follows the directory's alerts, and the sync section's answers keep it in the slot they replace", { timeout: 60_000 }, async () => {
    const { adele, run } = await heldRun();
    await disabledAsFailing(adele, "alerts");
    expect(await alertsOn(adele, "/users")).toEqual(["held", "webhook_disabled"]);

    const dismissed = await (await adele.post(`${SYNC}/runs/${run.id}/dismiss`, {}, { htmx: true })).text();
    expect(dismissed).toContain('<div id="directory-alerts-slot" hx-swap-oob="true">');
    expect(dismissed).toContain('data-alert="webhook_disabled"');
    expect(dismissed).not.toContain('data-alert="held"');
    expect(await alertsOn(adele, "/users")).toEqual(["webhook_disabled"]);
  });
});

describe("the home page at a glance", () => {
  it("shows an Owner the connected tenant, linked members, the last run and its outcome, and the next run", {
    timeout: 60_000,
  }, async () => {
    const adele = await connectContoso(["auto-deprovision"]);
    expect(await nightlyRun()).toMatchObject({ status: "succeeded", deactivated: 1 });
    const linked = await env.DB.prepare("select linked_active_members as n from entra_connections where organization_id = ?")
      .bind(CONTOSO)
      .first<{ n: number }>();

    const { html } = await adele.page("/");
    expect(html).toContain('id="directory-glance"');
    expect(html).toMatch(/id="glance-status">Connected</);
    expect(html).toContain('id="glance-tenant">Contoso Ltd (contoso.example)</dd>');
    expect(html).toContain(`id="glance-linked">${linked!.n}</dd>`);
    expect(html).toMatch(
      /id="glance-last-run">Nightly, [^<]+: <span class="status succeeded">Succeeded<\/span> — 1 deactivated, 0 reactivated/,
    );
    expect(html).toContain(`id="glance-next-run">${formatTime(nextNightlyRun(Date.now()))} (every night at 02:30 UTC)`);
    // Real-time updates: the subscription Auto-deprovision created, and when the nightly upkeep renews it.
    const subscription = await env.DB.prepare(
      "select expires_at from realtime_subscriptions where organization_id = ? and status = 'active'",
    )
      .bind(CONTOSO)
      .first<{ expires_at: number }>();
    expect(html).toContain(`id="glance-real-time">Active (renews on ${formatTime(renewsAt(subscription!.expires_at))})</dd>`);
    await env.DB.prepare("update realtime_subscriptions set status = 'failed', failure = 'validation_failed' where organization_id = ?")
      .bind(CONTOSO)
      .run();
    expect((await adele.page("/")).html).toContain(
      'id="glance-real-time">Not active: Microsoft could not reach UniAsset&#39;s notification address.</dd>',
    );

    await setFeature(adele, "auto-deprovision", false);
    const off = (await adele.page("/")).html;
    expect(off).toContain('id="glance-next-run">None: Auto-deprovision sync and Add new people automatically are off.');
    expect(off).not.toContain("Real-time updates");

    // Add new people automatically alone runs the directory too (src/db/runEligibility.ts).
    const joinersOn = await adele.post(`${ENTRA_PAGE}/import/add-new-people`, { enabled: "true" }, { htmx: true });
    expect(joinersOn.status).toBe(200);
    const joiners = (await adele.page("/")).html;
    expect(joiners).toContain(`id="glance-next-run">${formatTime(nextNightlyRun(Date.now()))} (every night at 02:30 UTC)`);
    expect(joiners).toContain('id="glance-real-time">');
  });

  it("says when nothing is connected or no run has happened, and is not shown to Members or on other plans", {
    timeout: 30_000,
  }, async () => {
    const adele = await signedIn("adele");
    const notConnected = (await adele.page("/")).html;
    expect(notConnected).toContain('id="directory-glance"');
    expect(notConnected).toContain(`<a href="${ENTRA_PAGE}">Connect Entra ID</a>`);

    await connectEntra(adele);
    expect((await adele.page("/")).html).toContain('id="glance-last-run">No sync has run yet.');

    const people = await contosoByRole();
    expect((await people.admin.page("/")).html).toContain('id="directory-glance"');
    for (const role of ["manager", "member", "viewer"] as const) {
      expect((await people[role].page("/")).html, role).not.toContain("directory-glance");
    }
    const lee = await signedIn("lee"); // Owner of Fabrikam, on the Team plan
    expect((await lee.page("/")).html).not.toContain("directory-glance");
  });
});

describe("what the banner costs", () => {
  const app = buildApp();

  /** One page view through the app with D1 counted. */
  async function pageCost(browser: TestBrowser | null, path: string, headers: Record<string, string> = {}) {
    const d1 = emptyD1Counter();
    const ctx = createExecutionContext();
    const cookie: Record<string, string> = browser ? { cookie: browser.cookieHeader(), "cf-connecting-ip": browser.ip } : {};
    const response = await app.fetch(
      new Request(new URL(path, APP), { headers: { ...cookie, ...headers } }),
      { ...env, DB: countingD1(env.DB, d1) },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return { status: response.status, html: await response.text(), d1 };
  }

  it("one D1 read per whole page for an Owner or Admin (the home page shares it), none for anyone else, on errors or in fragments", {
    timeout: 60_000,
  }, async () => {
    const { adele } = await heldRun();
    const people = await contosoByRole();
    const lee = await signedIn("lee"); // an Owner on the Team plan

    // The session's batch is the one round trip these pages made before; the banner adds one.
    for (const [browser, path] of [
      [adele, "/"],
      [adele, "/settings"],
      [people.admin, "/settings"],
    ] as const) {
      const cost = await pageCost(browser, path);
      expect(cost.html, path).toContain(BANNER);
      expect(cost.d1.roundTrips, `${path}:\n${cost.d1.log.join("\n")}`).toBe(2);
    }
    expect((await pageCost(adele, "/")).html).toContain('id="directory-glance"');
    for (const role of ["manager", "member", "viewer"] as const) {
      const cost = await pageCost(people[role], "/");
      expect(cost.d1.roundTrips, `${role}:\n${cost.d1.log.join("\n")}`).toBe(1);
    }
    expect((await pageCost(lee, "/settings")).d1.roundTrips).toBe(1);
    expect((await pageCost(null, "/sign-in")).d1.roundTrips).toBe(0);
    const notFound = await pageCost(adele, "/no-such-page");
    expect(notFound.status).toBe(404);
    expect(notFound.d1.roundTrips).toBe(1);
    expect(notFound.html).not.toContain(BANNER);
    // The same URL as a fragment and as a whole page: only the page reads (and shows) the banner.
    const fragment = await pageCost(adele, `${SYNC}/runs`, { "hx-request": "true" });
    const whole = await pageCost(adele, `${SYNC}/runs`);
    expect(fragment.html).not.toContain(BANNER);
    expect(whole.html).toContain(BANNER);
    expect(whole.d1.roundTrips - fragment.d1.roundTrips).toBe(1);
  });

  it("the same one read names a disabled endpoint in an organization without an Entra connection; still none for anyone else", {
    timeout: 60_000,
  }, async () => {
    const adele = await signedIn("adele");
    await disabledAsFailing(adele, "alerts");
    const people = await contosoByRole();
    for (const [browser, path] of [
      [adele, "/"],
      [adele, "/settings"],
      [people.admin, "/settings"],
    ] as const) {
      const cost = await pageCost(browser, path);
      expect(cost.html, path).toContain('data-alert="webhook_disabled"');
      expect(cost.d1.roundTrips, `${path}:\n${cost.d1.log.join("\n")}`).toBe(2);
    }
    for (const role of ["manager", "member", "viewer"] as const) {
      const cost = await pageCost(people[role], "/");
      expect(cost.html, role).not.toContain(BANNER);
      expect(cost.d1.roundTrips, `${role}:\n${cost.d1.log.join("\n")}`).toBe(1);
    }
  });

  it("reads one entry of each partial index, however long the run history, and only the disabled endpoints, however long their log", async () => {
    await connectContoso(["auto-deprovision"]);
    const statements = [];
    for (let i = 0; i < 300; i++) {
      const status = i === 10 ? "held" : i === 20 ? "failed" : i % 3 === 0 ? "previewed" : "succeeded";
      const trigger = status === "previewed" ? "preview" : "schedule";
      statements.push(
        env.DB.prepare("insert into sync_runs (id, organization_id, trigger, status, started_at) values (?, ?, ?, ?, ?)").bind(
          crypto.randomUUID(),
          CONTOSO,
          trigger,
          status,
          1_000 + (i < 280 ? i : 2_000 + i),
        ),
      );
    }
    // The newest 20 runs are previews: the last concluded run is older than all of them.
    for (let i = 280; i < 300; i++) {
      statements.push(
        env.DB.prepare("update sync_runs set trigger = 'preview', status = 'previewed' where organization_id = ? and started_at = ?").bind(
          CONTOSO,
          3_000 + i,
        ),
      );
    }
    // The most endpoints an organization may have (10): six enabled, two disabled by hand, two by
    // the deliveries, each with a full delivery log and events; and another organization's failing one.
    const endpoint = (organizationId: string, n: number, enabled: boolean, reason: string | null) =>
      env.DB.prepare(`insert into webhook_endpoints (id, organization_id, url, event_types, enabled, disabled_reason, disabled_at, secret_enc, created_by, created_at, updated_at)
        values (?, ?, ?, ' member.deactivated ', ?, ?, ?, 'sealed', ?, 1, 1)`).bind(
        `endpoint-${organizationId}-${n}`,
        organizationId,
        `https://hooks.example/${n}`,
        enabled ? 1 : 0,
        reason,
        enabled ? null : 2,
        DEMO_USER_IDS.adele,
      );
    for (let n = 0; n < 10; n++) statements.push(endpoint(CONTOSO, n, n < 6, n < 6 ? null : n < 8 ? "by_hand" : "failing"));
    statements.push(endpoint(DEMO_ORGS.fabrikam.id, 0, false, "failing"));
    await env.DB.batch(statements);
    await env.DB.batch([
      env.DB.prepare(`with recursive n(value) as (select 1 union all select value + 1 from n where value < 500)
        insert into webhook_events (id, organization_id, type, payload, created_at, relayed_at)
        select 'msg_' || value, ?, 'member.deactivated', '{}', 1, 1 from n`).bind(CONTOSO),
      env.DB.prepare(`with recursive n(value) as (select 1 union all select value + 1 from n where value < 100)
        insert into webhook_attempts (endpoint_id, organization_id, event_id, event_type, attempt, attempted_at, duration_ms, outcome)
        select e.id, e.organization_id, 'msg_' || value, 'member.deactivated', 1, 1, 1, 'failed' from webhook_endpoints e, n
        where e.organization_id = ?`).bind(CONTOSO),
    ]);

    const query = alertsStateQuery(createDb(env.DB), CONTOSO).toSQL();
    const plan = await env.DB.prepare(`explain query plan ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join("\n");
    expect(details).toMatch(/SEARCH organizations USING (COVERING )?INDEX sqlite_autoindex_organizations_1 \(id=\?\)/);
    expect(details).toContain("SEARCH entra_connections USING INDEX sqlite_autoindex_entra_connections_1 (organization_id=?)");
    expect(details).toContain("SEARCH webhook_endpoints USING INDEX webhook_endpoints_org (organization_id=? AND enabled=?)");
    expect(details).not.toMatch(/webhook_attempts|webhook_events/);
    expect(details).toMatch(/SEARCH sync_runs USING (COVERING )?INDEX sync_runs_held \(organization_id=\?\)/);
    expect(details).toMatch(/SEARCH sync_runs USING (COVERING )?INDEX sync_runs_concluded \(organization_id=\?\)/);
    expect(details).toMatch(/SEARCH scim_deprovisions USING (COVERING )?INDEX scim_deprovisions_held \(organization_id=\?\)/);
    expect(details).not.toContain("SCAN");
    expect(details).not.toContain("TEMP B-TREE");

    const result = await env.DB.prepare(query.sql)
      .bind(...query.params)
      .all();
    expect(result.results).toHaveLength(1);
    // The runs' and subscription's few rows as before, plus the organization's row and its four
    // disabled endpoints (the index range is the organization's disabled ones, by hand too): never
    // the other endpoints, their 1,000 attempts or the 500 events.
    expect(result.meta.rows_read).toBeLessThanOrEqual(8 + 1 + 4);
    const state = await findAlertsState(createDb(env.DB), CONTOSO);
    expect(state.failingEndpoints.map((e) => e.url).sort()).toEqual(["https://hooks.example/8", "https://hooks.example/9"]);
    expect(state.directory).toMatchObject({ status: "connected", autoDeprovision: true, heldRun: { startedAt: 1_010 } });

    // An organization that never connected Entra ID still gets its row: no directory, its endpoints.
    expect(await findAlertsState(createDb(env.DB), DEMO_ORGS.fabrikam.id)).toEqual({
      directory: null,
      failingEndpoints: [{ id: `endpoint-${DEMO_ORGS.fabrikam.id}-0`, url: "https://hooks.example/0" }],
      scimHeld: null,
    });
  });
});
