// Graph change notifications as the emulator serves them: subscriptions on users with Microsoft's
// validation handshake, expiry limit and error bodies, and notifications delivered to the app when
// the admin API changes a user. The app's own webhook answers the handshake (through the APP binding).
import { beforeEach, describe, expect, it } from "vitest";
import { entraUser } from "../../demo/directory.ts";
import { emulatorAdmin } from "../support/emulator.ts";
import { EMULATOR, graphToken } from "./helpers.ts";

const adele = entraUser("adele");
const megan = entraUser("megan");
const HOOK = "http://localhost:8787/realtime/microsoft-graph";
let token: string;

function call(method: "POST" | "PATCH" | "DELETE" | "GET", path: string, body?: unknown) {
  return fetch(`${EMULATOR}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
const request = (overrides: Record<string, unknown> = {}) => ({
  changeType: "updated,deleted",
  notificationUrl: `${HOOK}/users`,
  lifecycleNotificationUrl: `${HOOK}/lifecycle`,
  resource: "users",
  expirationDateTime: inMinutes(60),
  clientState: "s3cret",
  ...overrides,
});

beforeEach(async () => {
  await emulatorAdmin("reset");
  token = await graphToken(adele.oid);
});

describe("POST /v1.0/subscriptions", () => {
  it("validates both URLs with a validationToken, then answers 201 with the subscription", async () => {
    const response = await call("POST", "/v1.0/subscriptions", request());
    expect(response.status).toBe(201);
    const created = await response.json<Record<string, unknown>>();
    expect(created).toMatchObject({
      resource: "users",
      changeType: "updated,deleted",
      clientState: "s3cret",
      notificationUrl: `${HOOK}/users`,
    });
    const { value } = await emulatorAdmin<{ value: { kind: string; url: string; status: number }[] }>(
      "notifications/sent",
      undefined,
      "GET",
    );
    expect(value.map((v) => [v.kind, new URL(v.url).pathname, new URL(v.url).searchParams.has("validationToken"), v.status])).toEqual([
      ["validation", "/realtime/microsoft-graph/users", true, 200],
      ["validation", "/realtime/microsoft-graph/lifecycle", true, 200],
    ]);
  });

  it("refuses an expiry beyond 41,760 minutes, or in the past, in Graph's error shape", async () => {
    for (const expirationDateTime of [inMinutes(41_761), inMinutes(-1)]) {
      const response = await call("POST", "/v1.0/subscriptions", request({ expirationDateTime }));
      expect(response.status).toBe(400);
      const body = await response.json<{ error: { code: string; message: string; innerError: Record<string, string> } }>();
      expect(body.error.code).toBe("InvalidRequest");
      expect(body.error.innerError["request-id"]).toBeTruthy();
    }
    expect((await call("POST", "/v1.0/subscriptions", request({ expirationDateTime: inMinutes(41_759) }))).status).toBe(201);
  });

  it("fails validation when the notification URL does not echo the token", async () => {
    const response = await call("POST", "/v1.0/subscriptions", request({ notificationUrl: "http://localhost:8787/nowhere" }));
    expect(response.status).toBe(400);
    expect((await response.json<{ error: { code: string } }>()).error.code).toBe("ValidationError");
    expect((await emulatorAdmin<{ value: unknown[] }>("subscriptions", undefined, "GET")).value).toEqual([]);
  });

  it("refuses a non-https URL, an unknown change type and an unsupported resource (groups are supported: movers.test.ts)", async () => {
    expect((await call("POST", "/v1.0/subscriptions", request({ notificationUrl: "http://example.com/hook" }))).status).toBe(400);
    expect((await call("POST", "/v1.0/subscriptions", request({ changeType: "renamed" }))).status).toBe(400);
    expect((await call("POST", "/v1.0/subscriptions", request({ resource: "me/messages" }))).status).toBe(400);
  });

  it("needs User.Read.All (or Directory.Read.All): a User.Read token is refused", async () => {
    const { microsoftTokens } = await import("./helpers.ts");
    const tokens = await microsoftTokens(megan.oid, { scope: "openid User.Read", acceptConsent: true });
    token = tokens.access_token as string;
    expect((await call("POST", "/v1.0/subscriptions", request())).status).toBe(403);
  });
});

describe("PATCH and DELETE", () => {
  it("renews within the limit, deletes with 204, and answers 404 for an unknown id", async () => {
    const { id } = await (await call("POST", "/v1.0/subscriptions", request())).json<{ id: string }>();
    const later = inMinutes(41_000);
    const renewed = await call("PATCH", `/v1.0/subscriptions/${id}`, { expirationDateTime: later });
    expect(renewed.status).toBe(200);
    expect(Date.parse((await renewed.json<{ expirationDateTime: string }>()).expirationDateTime)).toBe(Date.parse(later));
    expect((await call("PATCH", `/v1.0/subscriptions/${id}`, { expirationDateTime: inMinutes(50_000) })).status).toBe(400);
    expect((await call("DELETE", `/v1.0/subscriptions/${id}`)).status).toBe(204);
    const gone = await call("DELETE", `/v1.0/subscriptions/${id}`);
    expect(gone.status).toBe(404);
    expect((await gone.json<{ error: { code: string } }>()).error.code).toBe("ResourceNotFound");
  });
});

describe("notifications", () => {
  it("a user disabled through the admin API: one Microsoft-shaped notification to the subscription's URL", async () => {
    const { id } = await (await call("POST", "/v1.0/subscriptions", request())).json<{ id: string }>();
    await emulatorAdmin(`users/${megan.oid}/disable`);
    let sent: { kind: string; body: string | null }[] = [];
    for (let i = 0; i < 100 && !sent.some((s) => s.kind === "notification"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      sent = (await emulatorAdmin<{ value: { kind: string; body: string | null }[] }>("notifications/sent", undefined, "GET")).value;
    }
    const notification = sent.find((s) => s.kind === "notification")!;
    expect(JSON.parse(notification.body!)).toEqual({
      value: [
        {
          subscriptionId: id,
          subscriptionExpirationDateTime: expect.any(String),
          changeType: "updated",
          resource: `Users/${megan.oid}`,
          resourceData: {
            "@odata.type": "#Microsoft.Graph.User",
            "@odata.id": `Users/${megan.oid}`,
            id: megan.oid,
            organizationId: megan.tenantId,
          },
          clientState: "s3cret",
          tenantId: megan.tenantId,
        },
      ],
    });
  });

  it("drop skips notifications; a lifecycle event goes to the lifecycle URL", async () => {
    const { id } = await (await call("POST", "/v1.0/subscriptions", request())).json<{ id: string }>();
    await emulatorAdmin("notifications", { drop: 1 });
    await emulatorAdmin(`users/${megan.oid}/disable`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const sent = (await emulatorAdmin<{ value: { kind: string }[] }>("notifications/sent", undefined, "GET")).value;
    expect(sent.filter((s) => s.kind === "notification")).toEqual([]);
    // The app does not hold this subscription (it was made here, not by the app): it acknowledges
    // the delivery (202), so Graph would not retry it, and does nothing.
    const lifecycle = await emulatorAdmin<{ status: number }>(`subscriptions/${id}/lifecycle`, { event: "missed" });
    expect(lifecycle.status).toBe(202);
    await expect(emulatorAdmin(`subscriptions/${id}/lifecycle`, { event: "bogus" })).rejects.toThrow(/400/);
  });
});
