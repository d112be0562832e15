// The SCIM endpoint's budget and its place among the organization's integrations: at most two D1
// round trips per request (one read batch, one write batch), member.* events raised with
// cause "scim" in the change's own batch, and the directory being either Entra ID or SCIM.
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import app from "../../src/index.ts";
import { sha256Base64url } from "../../src/lib/crypto.ts";
import { APP } from "../support/browser.ts";
import { countingD1, emptyD1Counter } from "../support/d1Counter.ts";
import { DEMO_ORGS, DEMO_USER_IDS, signedIn } from "../support/people.ts";
import { resetDemoWorld } from "../support/world.ts";
import { entraUser } from "../../demo/directory.ts";

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER = "urn:ietf:params:scim:schemas:core:2.0:User";

async function makeToken(organizationId: string): Promise<string> {
  const id = crypto.randomUUID().replaceAll("-", "");
  const token = `scim_${id}_${"c".repeat(11)}${crypto.randomUUID().replaceAll("-", "")}`;
  await env.DB.prepare("insert into scim_tokens (id, organization_id, token_hash, created_at) values (?, ?, ?, 1)")
    .bind(id, organizationId, await sha256Base64url(token))
    .run();
  return token;
}

let token: string;
beforeEach(async () => {
  await resetDemoWorld();
  token = await makeToken(DEMO_ORGS.contoso.id);
});

/** One request through the Worker with a counting D1 (no deliveries queue: the relay after the answer is not the request's cost). */
async function counted(method: string, path: string, body?: unknown) {
  const d1 = emptyD1Counter();
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request(`${APP}/scim/v2/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
    { ...env, DB: countingD1(env.DB, d1), WEBHOOK_DELIVERIES: undefined } as never,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined, roundTrips: d1.roundTrips };
}

describe("cost", () => {
  it("answers every kind of request in at most two D1 round trips", async () => {
    const created = await counted("POST", "Users", { schemas: [USER], userName: "kim@contoso.example", active: true });
    expect(created).toMatchObject({ status: 201, roundTrips: 2 });
    const id = created.body!.id as string;
    const costs = [
      await counted("GET", `Users?filter=${encodeURIComponent('userName eq "kim@contoso.example"')}`),
      await counted("GET", `Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "x@y"')}`),
      await counted("GET", `Users/${id}`),
      await counted("PUT", `Users/${id}`, { schemas: [USER], userName: "kim@contoso.example", displayName: "Kim", active: true }),
      await counted("PATCH", `Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: "replace", path: "active", value: false }] }),
      await counted("POST", "Groups", { displayName: "Staff", members: [{ value: id }] }),
      await counted("DELETE", `Users/${id}`),
    ];
    for (const cost of costs) expect(cost.status).toBeLessThan(300);
    expect(Math.max(...costs.map((cost) => cost.roundTrips))).toBeLessThanOrEqual(2);
  });
});

describe("events", () => {
  it("raises member.provisioned, member.deactivated and member.reactivated with cause scim", async () => {
    const types = " member.provisioned member.deactivated member.reactivated ";
    await env.DB.prepare(`insert into webhook_endpoints (id, organization_id, url, event_types, enabled, secret_enc, created_by, created_at, updated_at)
      values (?, ?, 'https://hooks.example/scim', ?, 1, 'sealed', ?, 1, 1)`)
      .bind(crypto.randomUUID(), DEMO_ORGS.contoso.id, types, DEMO_USER_IDS.adele)
      .run();
    const created = await SELF.fetch(`${APP}/scim/v2/Users`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ schemas: [USER], userName: "lena@contoso.example", active: true }),
    });
    const id = ((await created.json()) as { id: string }).id;
    for (const active of [false, true]) {
      await SELF.fetch(`${APP}/scim/v2/Users/${id}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: "replace", path: "active", value: active }] }),
      });
    }
    const events = await env.DB.prepare("select type, payload from webhook_events where organization_id = ? order by seq")
      .bind(DEMO_ORGS.contoso.id)
      .all<{ type: string; payload: string }>();
    expect(
      events.results.map((event) => [
        event.type,
        (JSON.parse(event.payload) as { data: { cause: string; member: { user_id: string } } }).data.cause,
      ]),
    ).toEqual([
      ["member.provisioned", "scim"],
      ["member.deactivated", "scim"],
      ["member.reactivated", "scim"],
    ]);
  });
});

describe("the organization's directory is Entra ID or SCIM", () => {
  it("refuses Connect Entra ID while a SCIM token works", async () => {
    const adele = await signedIn("adele");
    await adele.page("/settings/integrations/entra");
    const refused = await adele.post("/settings/integrations/entra/connect", { tenant: "" });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("SCIM");
  });

  it("refuses the Connect Entra ID callback when a SCIM token started working meanwhile, and stores no connection", async () => {
    await env.DB.prepare("delete from scim_tokens").run();
    const adele = await signedIn("adele");
    await adele.page("/settings/integrations/entra");
    const start = await adele.post("/settings/integrations/entra/connect", { tenant: "" });
    expect(start.status).toBe(302);
    const back = await adele.authorizeAtEmulator(start, { account: entraUser("adele").oid, consent: "accept" });
    // While Adele is at Microsoft, another admin generates a SCIM token (the race).
    await makeToken(DEMO_ORGS.contoso.id);
    const callback = await adele.returnFromProvider(back);
    expect(callback.status).toBe(303);
    expect(callback.headers.get("location")).toBe("/settings/integrations/entra?failure=scim_active");
    expect(await env.DB.prepare("select count(*) as n from entra_connections").first("n")).toBe(0);
    const page = await adele.page("/settings/integrations/entra?failure=scim_active");
    expect(page.html).toContain("SCIM provisioning is this organization&#39;s directory");
  });

  it("refuses a SCIM token while Entra ID is connected, and writes nothing", async () => {
    await env.DB.prepare("delete from scim_tokens").run();
    await env.DB.prepare("insert into entra_connections (organization_id, status, updated_at) values (?, 'failed', 1)")
      .bind(DEMO_ORGS.contoso.id)
      .run();
    const adele = await signedIn("adele");
    const page = await adele.page("/settings/integrations/scim");
    expect(page.html).toContain("Microsoft Entra ID connection");
    const refused = await adele.post("/settings/integrations/scim/tokens");
    expect(refused.status).toBe(409);
    expect(await env.DB.prepare("select count(*) as n from scim_tokens").first("n")).toBe(0);
    expect(await env.DB.prepare("select count(*) as n from audit_events where action like 'scim.%'").first("n")).toBe(0);
  });
});
