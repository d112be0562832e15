// Settings → Webhooks: who may add and change endpoints (Owners and Admins, Enterprise plan), what
// an Endpoint URL may be, CSRF, and the signing secret: shown once, stored only sealed.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { Viewer } from "../../src/context.ts";
import { createDb } from "../../src/db/client.ts";
import type { Role } from "../../src/db/schema.ts";
import { AppError } from "../../src/lib/errors.ts";
import { tokenVault } from "../../src/lib/vault.ts";
import { addEndpoint as addEndpointAsService } from "../../src/events/endpoints.ts";
import { checkEndpointUrl } from "../../src/events/urlPolicy.ts";
import { resetDemoWorld } from "../support/world.ts";
import { DEMO_ORGS, DEMO_USER_IDS, contosoByRole, signedIn } from "../support/people.ts";
import {
  CONTOSO,
  WEBHOOKS,
  addEndpoint,
  addEndpointFormToken,
  endpointFields,
  endpointRow,
  postForm,
  receiverUrl,
  submitAddEndpoint,
} from "./support.ts";

beforeEach(resetDemoWorld);

const endpointCount = async () => (await env.DB.prepare("select count(*) as n from webhook_endpoints").first<{ n: number }>())!.n;

describe("adding an endpoint", () => {
  it("shows the whsec_ secret once, stores it only sealed, and audits the addition without it", async () => {
    const adele = await signedIn("adele");
    const { id, secret } = await addEndpoint(adele, receiverUrl("once"), ["member.deactivated", "sync.run.held"]);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const row = await endpointRow(id);
    expect(row).toMatchObject({
      organization_id: CONTOSO,
      url: receiverUrl("once"),
      event_types: " member.deactivated sync.run.held ",
      enabled: 1,
    });
    expect(String(row!.secret_enc)).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));

    for (const path of [WEBHOOKS, `${WEBHOOKS}/${id}`, "/audit"]) {
      const { status, html } = await adele.page(path);
      expect(status).toBe(200);
      expect(html).toContain(receiverUrl("once"));
      expect(html).not.toContain(secret.slice(6));
    }
    const audit = await env.DB.prepare("select details from audit_events where action = 'webhook.endpoint_added'").all<{
      details: string;
    }>();
    expect(audit.results).toHaveLength(1);
    expect(audit.results[0]!.details).not.toContain(secret.slice(6));
  });

  const BAD_URLS: [string, string][] = [
    ["ftp://hooks.example.com/x", "https://"],
    ["javascript:alert(1)", "https://"],
    ["http://hooks.example.com/x", "https://"],
    ["https://user:pass@hooks.example.com/x", "user name or password"],
    ["https://hooks.example.com/x#part", "fragment"],
    ["not a url", "not a valid URL"],
    ["", "Endpoint URL"],
    [`https://hooks.example.com/${"a".repeat(2100)}`, "2048"],
    // Private, link-local, shared and reserved addresses, however they are written.
    ["https://localhost./x", "must not point to localhost"],
    ["https://a.localhost/x", "must not point to localhost"],
    ["https://a.localhost./x", "must not point to localhost"],
    ["https://[::ffff:127.0.0.1]/x", "IPv4-mapped"],
    ["https://[::ffff:10.0.0.1]/x", "IPv4-mapped"],
    ["https://10.0.0.1/x", "private network address"],
    ["https://172.16.0.1/x", "private network address"],
    ["https://172.31.255.255/x", "private network address"],
    ["https://192.168.1.1/x", "private network address"],
    ["https://0xa.1/x", "private network address"],
    ["https://169.254.169.254/latest/meta-data", "link-local"],
    ["https://100.64.0.1/x", "carrier-grade NAT"],
    ["https://0.0.0.0/x", "unspecified"],
    ["https://0/x", "unspecified"],
    ["https://[::]/x", "unspecified"],
    ["https://[fc00::1]/x", "unique local"],
    ["https://[fd12:3456::1]/x", "unique local"],
    ["https://[fe80::1]/x", "link-local"],
    ["https://metadata.google.internal/x", "internal host name"],
    ["https://printer.local./x", "internal host name"],
  ];
  for (const [url, message] of BAD_URLS) {
    it(`refuses ${JSON.stringify(url.slice(0, 40))} with a clear 400, adding nothing`, async () => {
      const adele = await signedIn("adele");
      const response = await submitAddEndpoint(adele, [
        ["url", url],
        ["eventTypes", "member.deactivated"],
      ]);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain(message);
      expect(await endpointCount()).toBe(0);
    });
  }

  // The test app runs on loopback, where loopback receivers are allowed (the emulator's receiver is
  // one); a production app refuses them, and every other way of writing them.
  const LOOPBACK_URLS = [
    "https://127.0.0.1/x",
    "https://127.0.0.2/x",
    "https://localhost/x",
    "https://[::1]/x",
    "https://2130706433/x",
    "https://0x7f.1/x",
    "https://127.1/x",
    "http://localhost:9000/x",
  ];
  for (const url of LOOPBACK_URLS) {
    it(`refuses ${JSON.stringify(url)} when the app is not on loopback (400, nothing added)`, async () => {
      const viewer = { userId: "u", organizationId: CONTOSO } as Viewer;
      const added = addEndpointAsService(
        createDb(env.DB),
        tokenVault(env),
        viewer,
        {
          url,
          eventTypes: ["member.deactivated"],
          appOrigin: "https://identity.uniasset.app",
          formToken: "loopback",
        },
        Date.now(),
      );
      const error = await added.then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).status).toBe(400);
      expect((error as AppError).userMessage).toMatch(
        url.startsWith("http:") ? /https:\/\// : /must not point to (a loopback address|localhost)/,
      );
      expect(await endpointCount()).toBe(0);
    });
  }

  it("accepts public https receivers, by name or by public address", () => {
    for (const url of [
      "https://hooks.example.com/x",
      "https://8.8.8.8/x",
      "https://[2001:4860:4860::8888]/x",
      "https://internal.example.com/x",
    ]) {
      expect(checkEndpointUrl(url, "https://identity.uniasset.app"), url).toEqual({ ok: true, url: new URL(url).href });
    }
  });

  it("refuses an unknown event type, none at all, and a forged form", async () => {
    const adele = await signedIn("adele");
    expect(
      (
        await submitAddEndpoint(adele, [
          ["url", receiverUrl("x")],
          ["eventTypes", "member.deleted"],
        ])
      ).status,
    ).toBe(400);
    expect((await submitAddEndpoint(adele, [["url", receiverUrl("x")]])).status).toBe(400);
    const forged = await submitAddEndpoint(
      adele,
      [
        ["url", receiverUrl("x")],
        ["eventTypes", "member.deactivated"],
      ],
      { csrf: false },
    );
    expect(forged.status).toBe(403);
    expect(await endpointCount()).toBe(0);
  });

  it("allows plain http only to a loopback host, and only while the app itself runs on loopback", () => {
    expect(checkEndpointUrl("http://localhost:9000/hook", "http://localhost:8787")).toEqual({
      ok: true,
      url: "http://localhost:9000/hook",
    });
    expect(checkEndpointUrl("http://127.0.0.1:9000/hook", "http://localhost:8787").ok).toBe(true);
    expect(checkEndpointUrl("http://localhost:9000/hook", "https://identity.uniasset.app").ok).toBe(false);
    expect(checkEndpointUrl("http://10.0.0.5/hook", "http://localhost:8787").ok).toBe(false);
    expect(checkEndpointUrl("https://hooks.example.com/x", "https://identity.uniasset.app").ok).toBe(true);
  });
});

describe("roles and plan", () => {
  it("lets only Owners and Admins open the page or add an endpoint", async () => {
    const browsers = await contosoByRole();
    for (const role of ["owner", "admin", "manager", "member", "viewer"] as Role[]) {
      const allowed = role === "owner" || role === "admin";
      expect((await browsers[role].page(WEBHOOKS)).status, role).toBe(allowed ? 200 : 403);
      await browsers[role].page("/");
      const added = allowed
        ? await submitAddEndpoint(browsers[role], [
            ["url", receiverUrl(role)],
            ["eventTypes", "member.deactivated"],
          ])
        : await postForm(browsers[role], WEBHOOKS, [
            ["url", receiverUrl(role)],
            ["eventTypes", "member.deactivated"],
          ]);
      expect(added.status, role).toBe(allowed ? 200 : 403);
    }
    expect(await endpointCount()).toBe(2);
  });

  it("refuses every action on other plans (403) and explains the upgrade", async () => {
    const lee = await signedIn("lee"); // Owner of Fabrikam, Team plan
    const { status, html } = await lee.page(WEBHOOKS);
    expect(status).toBe(200);
    expect(html).toContain("Plan required: Enterprise");
    expect(html).not.toContain("Add endpoint");
    const added = await postForm(lee, WEBHOOKS, [
      ["url", receiverUrl("lee")],
      ["eventTypes", "member.deactivated"],
    ]);
    expect(added.status).toBe(403);
    expect(await added.text()).toContain("Event webhooks are available on the Enterprise plan");
    expect(await endpointCount()).toBe(0);
  });

  it("never reaches another organization's endpoint", async () => {
    const adele = await signedIn("adele");
    const { id } = await addEndpoint(adele, receiverUrl("mine"), ["member.deactivated"]);
    await env.DB.prepare("update webhook_endpoints set organization_id = 'another-org' where id = ?").bind(id).run();
    expect((await adele.page(`${WEBHOOKS}/${id}`)).status).toBe(404);
    for (const action of ["disable", "delete", "rotate", "test"]) {
      expect((await postForm(adele, `${WEBHOOKS}/${id}/${action}`, [])).status, action).toBe(404);
    }
    expect(await endpointRow(id)).toMatchObject({ enabled: 1 });
  });
});

describe("another organization's admin", () => {
  it("gets 404 for Enable, Disable, Delete and the endpoint page, and nothing changes", async () => {
    const adele = await signedIn("adele");
    const { id } = await addEndpoint(adele, receiverUrl("mine"), ["member.deactivated"]);
    await adele.page(`${WEBHOOKS}/${id}`);
    expect((await postForm(adele, `${WEBHOOKS}/${id}/disable`, [])).status).toBe(303);
    const before = await endpointRow(id);
    await env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.fabrikam.id).run();
    const lee = await signedIn("lee"); // Owner of Fabrikam, now Enterprise too
    await lee.page(WEBHOOKS);
    expect((await lee.page(`${WEBHOOKS}/${id}`)).status).toBe(404);
    for (const action of ["enable", "disable", "delete", "rotate"]) {
      expect((await postForm(lee, `${WEBHOOKS}/${id}/${action}`, [])).status, action).toBe(404);
    }
    expect(await endpointRow(id)).toEqual(before);
    const actions = await env.DB.prepare("select action from audit_events where action like 'webhook.%' order by id").all<{
      action: string;
    }>();
    expect(actions.results.map((r) => r.action)).toEqual(["webhook.endpoint_added", "webhook.endpoint_disabled"]);
  });
});

describe("disable, enable and delete", () => {
  it("are audited and take effect", async () => {
    const adele = await signedIn("adele");
    const { id } = await addEndpoint(adele, receiverUrl("toggle"), ["member.deactivated"]);
    await adele.page(`${WEBHOOKS}/${id}`);
    expect((await postForm(adele, `${WEBHOOKS}/${id}/disable`, [])).status).toBe(303);
    expect(await endpointRow(id)).toMatchObject({ enabled: 0, disabled_reason: "by_hand" });
    expect((await postForm(adele, `${WEBHOOKS}/${id}/enable`, [])).status).toBe(303);
    expect(await endpointRow(id)).toMatchObject({ enabled: 1, disabled_reason: null });
    expect((await postForm(adele, `${WEBHOOKS}/${id}/delete`, [])).status).toBe(303);
    expect(await endpointRow(id)).toBeNull();
    const actions = await env.DB.prepare("select action from audit_events where action like 'webhook.%' order by id").all<{
      action: string;
    }>();
    expect(actions.results.map((r) => r.action)).toEqual([
      "webhook.endpoint_added",
      "webhook.endpoint_disabled",
      "webhook.endpoint_enabled",
      "webhook.endpoint_deleted",
    ]);
  });
});

describe("Send test event: one per organization and URL every 10 seconds (issue 18)", () => {
  const testEvents = async () =>
    (await env.DB.prepare("select count(*) as n from webhook_events where type = 'webhook.test'").first<{ n: number }>())!.n;

  it("holds whatever is deleted or added again: Add, Send test event, Delete, repeated, sends one", { timeout: 30_000 }, async () => {
    const adele = await signedIn("adele");
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const { id } = await addEndpoint(adele, receiverUrl("flooded"), ["member.deactivated"]);
      await adele.page(`${WEBHOOKS}/${id}`);
      statuses.push((await postForm(adele, `${WEBHOOKS}/${id}/test`, [])).status);
      expect((await postForm(adele, `${WEBHOOKS}/${id}/delete`, [])).status).toBe(303);
    }
    expect(statuses).toEqual([303, 429, 429, 429, 429, 429]);
    expect(await testEvents()).toBe(1);
  });

  it("the same receiver with another query string, or two endpoints of it at once, share the pace", { timeout: 30_000 }, async () => {
    const adele = await signedIn("adele");
    const first = await addEndpoint(adele, `${receiverUrl("shared")}?n=1`, ["member.deactivated"]);
    const second = await addEndpoint(adele, `${receiverUrl("shared")}?n=2`, ["member.deactivated"]);
    await adele.page(WEBHOOKS);
    const [a, b] = await Promise.all([first, second].map(({ id }) => postForm(adele, `${WEBHOOKS}/${id}/test`, [])));
    expect([a!.status, b!.status].sort()).toEqual([303, 429]);
    expect(await testEvents()).toBe(1);
  });

  it("another URL, or another organization's endpoint at the same URL, has its own", { timeout: 30_000 }, async () => {
    const adele = await signedIn("adele");
    const here = await addEndpoint(adele, receiverUrl("paced"), ["member.deactivated"]);
    const elsewhere = await addEndpoint(adele, receiverUrl("paced-too"), ["member.deactivated"]);
    await adele.page(WEBHOOKS);
    expect((await postForm(adele, `${WEBHOOKS}/${here.id}/test`, [])).status).toBe(303);
    expect((await postForm(adele, `${WEBHOOKS}/${elsewhere.id}/test`, [])).status).toBe(303);
    await env.DB.prepare("update organizations set plan = 'enterprise' where id = ?").bind(DEMO_ORGS.fabrikam.id).run();
    const lee = await signedIn("lee");
    const theirs = await addEndpoint(lee, receiverUrl("paced"), ["member.deactivated"]);
    await lee.page(WEBHOOKS);
    expect((await postForm(lee, `${WEBHOOKS}/${theirs.id}/test`, [])).status).toBe(303);
    expect(await testEvents()).toBe(3);
  });
});

describe("at most 10 endpoints", () => {
  const addedAudits = async () =>
    (await env.DB.prepare("select count(*) as n from audit_events where action = 'webhook.endpoint_added'").first<{ n: number }>())!.n;

  async function nineEndpoints(viewer: Viewer) {
    for (let i = 0; i < 9; i++) {
      await addEndpointAsService(
        createDb(env.DB),
        tokenVault(env),
        viewer,
        {
          url: receiverUrl(`nine-${i}`),
          eventTypes: ["member.deactivated"],
          appOrigin: env.APP_ORIGIN,
          formToken: `nine-${i}`,
        },
        Date.now(),
      );
    }
  }

  it("holds when additions race: from 9, three at once end with exactly 10, the others refused (409) and not audited", async () => {
    const adele = await signedIn("adele");
    await nineEndpoints({ userId: DEMO_USER_IDS.adele, organizationId: CONTOSO, sessionHash: "seed" } as Viewer);
    // Three forms, as three tabs would hold them, submitted at the same moment.
    const tokens = [await addEndpointFormToken(adele), await addEndpointFormToken(adele), await addEndpointFormToken(adele)];
    const responses = await Promise.all(
      tokens.map((formToken, i) =>
        submitAddEndpoint(adele, endpointFields(receiverUrl(`race-${i}`), ["member.deactivated"]), { formToken }),
      ),
    );
    const answers = await Promise.all(responses.map(async (r) => ({ status: r.status, html: await r.text() })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
    for (const refused of answers.filter((a) => a.status === 409)) {
      expect(refused.html).toContain("An organization can have at most 10 endpoints. Delete one first.");
      expect(refused.html).not.toContain("whsec_");
    }
    expect(await endpointCount()).toBe(10);
    expect(await addedAudits()).toBe(10);
  });

  it("refuses the 11th with a clear 409, adding and auditing nothing", async () => {
    const adele = await signedIn("adele");
    await nineEndpoints({ userId: DEMO_USER_IDS.adele, organizationId: CONTOSO, sessionHash: "seed" } as Viewer);
    await addEndpoint(adele, receiverUrl("tenth"), ["member.deactivated"]);
    const eleventh = await submitAddEndpoint(adele, endpointFields(receiverUrl("eleventh"), ["member.deactivated"]));
    expect(eleventh.status).toBe(409);
    expect(await eleventh.text()).toContain("at most 10 endpoints");
    expect(await endpointCount()).toBe(10);
    expect(await addedAudits()).toBe(10);
  });
});
