// Fault injection and request counting: what the app's retry and paging logic is tested against.
import { beforeEach, expect, it } from "vitest";
import { entraUser } from "../../demo/directory.ts";
import { EMULATOR, graph, graphToken, microsoftToken } from "./helpers.ts";
import { emulatorAdmin } from "../support/emulator.ts";

let token: string;

beforeEach(async () => {
  await emulatorAdmin("reset");
  token = await graphToken(entraUser("adele").oid);
});

it("answers 429 with Retry-After in Graph's shape, then recovers", async () => {
  await emulatorAdmin("faults", { endpoint: "users", status: 429, retryAfter: 7, times: 2 });
  for (let i = 0; i < 2; i++) {
    const res = await graph("/v1.0/users", token);
    expect(res.status).toBe(429);
    expect(res.headers.get("Retry-After")).toBe("7");
    const body = (await res.json()) as { error: { code: string; innerError: Record<string, string> } };
    expect(body.error.code).toBe("TooManyRequests");
    expect(body.error.innerError["request-id"]).toBeTruthy();
  }
  expect((await graph("/v1.0/users", token)).status).toBe(200);
});

it("fails a page in the middle of paging with afterRequests", async () => {
  await emulatorAdmin("faults", { endpoint: "users", status: 503, afterRequests: 2 });
  const first = (await (await graph("/v1.0/users?$top=2", token)).json()) as { "@odata.nextLink": string };
  const second = (await (await graph(first["@odata.nextLink"], token)).json()) as { "@odata.nextLink": string };
  const third = await graph(second["@odata.nextLink"], token);
  expect(third.status).toBe(503);
  expect(((await third.json()) as { error: { code: string } }).error.code).toBe("serviceNotAvailable");
  expect((await graph(second["@odata.nextLink"], token)).status).toBe(200);
});

it("injects identity-platform errors on the token endpoint and custom bodies", async () => {
  await emulatorAdmin("faults", { endpoint: "token", status: 500 });
  const res = await microsoftToken({ grant_type: "refresh_token", refresh_token: "x" });
  expect(res.status).toBe(500);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.error).toBe("temporarily_unavailable");
  expect(body.error_description).toMatch(/^AADSTS90033/);
  await emulatorAdmin("faults", { endpoint: "groups", status: 400, body: { error: { code: "Custom", message: "custom" } } });
  expect(await (await graph("/v1.0/groups", token)).json()).toEqual({ error: { code: "Custom", message: "custom" } });
});

it("shows the browser an error page when the sign-in page is faulted", async () => {
  await emulatorAdmin("faults", { endpoint: "authorize", status: 503, retryAfter: 2 });
  const res = await fetch(`${EMULATOR}/common/oauth2/v2.0/authorize`);
  expect(res.status).toBe(503);
  expect(res.headers.get("Retry-After")).toBe("2");
  expect(res.headers.get("Content-Type")).toMatch(/text\/html/);
  expect(await res.text()).toContain("AADSTS90033");
});

it("delays a response without failing it", async () => {
  await emulatorAdmin("faults", { endpoint: "organization", delayMs: 150 });
  const started = Date.now();
  expect((await graph("/v1.0/organization", token)).status).toBe(200);
  expect(Date.now() - started).toBeGreaterThanOrEqual(140);
});

it("drops the request as a network failure", async () => {
  await emulatorAdmin("faults", { endpoint: "delta", networkError: true });
  const failed = await graph("/v1.0/users/delta", token).then(
    (r) => r.status,
    (e: unknown) => e,
  );
  // Through a service binding the caller's fetch rejects; over HTTP (wrangler dev) it is a 500.
  expect(failed === 500 || failed instanceof Error).toBe(true);
  expect((await graph("/v1.0/users/delta", token)).status).toBe(200);
});

it("clears pending faults and rejects unknown endpoints", async () => {
  await emulatorAdmin("faults", { endpoint: "keys", status: 500, times: 5 });
  await emulatorAdmin("faults", undefined, "DELETE");
  expect((await fetch(`${EMULATOR}/common/discovery/v2.0/keys`)).status).toBe(200);
  const bad = await fetch(`${EMULATOR}/_emulator/faults`, { method: "POST", body: JSON.stringify({ endpoint: "nowhere" }) });
  expect(bad.status).toBe(400);
});

it("counts requests per endpoint", async () => {
  await emulatorAdmin("stats/reset");
  await graph("/v1.0/users", token);
  await graph("/v1.0/users", token, { "x-ms-throttle-priority": "low" });
  await graph(`/v1.0/users/${entraUser("alex").oid}/transitiveMemberOf/microsoft.graph.group`, token);
  await fetch(`${EMULATOR}/common/discovery/v2.0/keys`);
  const stats = await (await fetch(`${EMULATOR}/_emulator/stats`)).json();
  expect(stats).toEqual({ requests: { users: 2, memberOf: 1, keys: 1 }, lowPriority: { users: 1 }, total: 4 });
});

it("answers unknown paths with a 404 JSON body", async () => {
  const res = await fetch("https://example.com/nothing/here");
  expect(res.status).toBe(404);
  expect(((await res.json()) as { error: string }).error).toBe("not_found");
});
