// Google's endpoints as the emulator serves them: discovery, certs, the account chooser and
// PKCE-checked, single-use code redemption with Google's error shape.
import { env } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import { googleAccount } from "../../demo/directory.ts";
import { decodeJwt, EMULATOR, GOOGLE_CALLBACK, pkce, press, redirectParams, verifiesAgainst } from "./helpers.ts";
import { emulatorAdmin } from "../support/emulator.ts";

const pat = googleAccount("pat");

beforeEach(async () => {
  await emulatorAdmin("reset");
});

function authorizeUrl(challenge: string, overrides: Record<string, string> = {}): string {
  const params = new URLSearchParams({
    client_id: env.GOOGLE_CLIENT_ID,
    response_type: "code",
    redirect_uri: GOOGLE_CALLBACK,
    scope: "openid email profile",
    state: "g-state",
    nonce: "g-nonce",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...overrides,
  });
  return `${EMULATOR}/google/o/oauth2/v2/auth?${params}`;
}

async function chooseAccount(sub: string): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = await pkce();
  const html = await (await fetch(authorizeUrl(challenge))).text();
  const params = redirectParams(await press(html, { account: sub }));
  expect(params.get("state")).toBe("g-state");
  return { code: params.get("code")!, verifier };
}

function redeem(code: string, verifier: string, secret = env.GOOGLE_CLIENT_SECRET): Promise<Response> {
  return fetch(`${EMULATOR}/google/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      redirect_uri: GOOGLE_CALLBACK,
      client_id: env.GOOGLE_CLIENT_ID,
      client_secret: secret,
    }),
  });
}

it("publishes discovery under /google", async () => {
  const config = (await (await fetch(`${EMULATOR}/google/.well-known/openid-configuration`)).json()) as Record<string, string>;
  expect(config).toMatchObject({
    issuer: `${EMULATOR}/google`,
    authorization_endpoint: `${EMULATOR}/google/o/oauth2/v2/auth`,
    token_endpoint: `${EMULATOR}/google/token`,
    jwks_uri: `${EMULATOR}/google/oauth2/v3/certs`,
  });
});

it("shows a chooser with each demo account and Cancel", async () => {
  const html = await (await fetch(authorizeUrl((await pkce()).challenge))).text();
  expect(html).toContain("Choose an account");
  expect(html).toContain("Pat Kim — pat@gmail.example");
  expect(html).toContain("Sam Rivera — sam@gmail.example");
  const cancelled = redirectParams(await press(html, { cancel: "1" }));
  expect(cancelled.get("error")).toBe("access_denied");
  expect(cancelled.get("state")).toBe("g-state");
});

it("rejects an unknown client or redirect URI without redirecting", async () => {
  const { challenge } = await pkce();
  for (const bad of [{ client_id: "other.apps.googleusercontent.example" }, { redirect_uri: "https://evil.example/cb" }] as Record<
    string,
    string
  >[]) {
    const res = await fetch(authorizeUrl(challenge, bad), { redirect: "manual" });
    expect(res.status).toBe(400);
    expect(res.headers.get("Location")).toBeNull();
  }
  const noPkce = await fetch(authorizeUrl(challenge, { code_challenge_method: "plain" }), { redirect: "manual" });
  expect(redirectParams(noPkce).get("error")).toBe("invalid_request");
});

it("redeems a code once for an ID token signed by the published key", async () => {
  const { code, verifier } = await chooseAccount(pat.sub);
  const res = await redeem(code, verifier);
  expect(res.status).toBe(200);
  const tokens = (await res.json()) as Record<string, unknown>;
  expect(tokens).toMatchObject({ token_type: "Bearer", scope: "openid email profile" });
  expect(tokens.access_token).toBeTruthy();
  const idToken = tokens.id_token as string;
  expect(await verifiesAgainst(idToken, `${EMULATOR}/google/oauth2/v3/certs`)).toBe(true);
  expect(decodeJwt(idToken).claims).toMatchObject({
    iss: `${EMULATOR}/google`,
    aud: env.GOOGLE_CLIENT_ID,
    sub: pat.sub,
    email: pat.email,
    email_verified: true,
    name: pat.name,
    nonce: "g-nonce",
  });
  const again = await redeem(code, verifier);
  expect(again.status).toBe(400);
  expect(await again.json()).toEqual({ error: "invalid_grant", error_description: "Bad Request" });
});

it("rejects a wrong verifier and a wrong secret", async () => {
  const { code } = await chooseAccount(pat.sub);
  const wrong = await redeem(code, (await pkce()).verifier);
  expect(wrong.status).toBe(400);
  expect(await wrong.json()).toEqual({ error: "invalid_grant", error_description: "Bad Request" });
  const second = await chooseAccount(pat.sub);
  const badSecret = await redeem(second.code, second.verifier, "wrong");
  expect(badSecret.status).toBe(401);
  expect(((await badSecret.json()) as Record<string, unknown>).error).toBe("invalid_client");
});

it("applies the tamper API to Google ID tokens too", async () => {
  await emulatorAdmin("tamper", { kind: "signature" });
  const { code, verifier } = await chooseAccount(pat.sub);
  const idToken = ((await (await redeem(code, verifier)).json()) as Record<string, string>).id_token!;
  expect(await verifiesAgainst(idToken, `${EMULATOR}/google/oauth2/v3/certs`)).toBe(false);
});
