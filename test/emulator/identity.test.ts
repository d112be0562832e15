// The Microsoft identity platform as the emulator serves it: discovery, keys, the account
// picker, admin consent, PKCE-checked code redemption, refresh-token rotation and revocation.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, entraUser, FABRIKAM_TENANT_ID } from "../../demo/directory.ts";
import {
  decodeJwt,
  EMULATOR,
  ENTRA_CALLBACK,
  GRAPH_SCOPE,
  hiddenFields,
  microsoftAuthorizeUrl,
  microsoftToken,
  microsoftTokens,
  MS_CALLBACK,
  pkce,
  press,
  redirectParams,
  signInAs,
  verifiesAgainst,
} from "./helpers.ts";
import { emulatorAdmin } from "../support/emulator.ts";

const adele = entraUser("adele");
const megan = entraUser("megan");

beforeEach(async () => {
  await emulatorAdmin("reset");
});

describe("discovery and keys", () => {
  it("publishes Microsoft's multi-tenant issuer template and per-tenant issuers", async () => {
    const common = (await (await fetch(`${EMULATOR}/common/v2.0/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(common.issuer).toBe(`${EMULATOR}/{tenantid}/v2.0`);
    expect(common.authorization_endpoint).toBe(`${EMULATOR}/common/oauth2/v2.0/authorize`);
    expect(common.token_endpoint).toBe(`${EMULATOR}/common/oauth2/v2.0/token`);
    expect(common.jwks_uri).toBe(`${EMULATOR}/common/discovery/v2.0/keys`);
    expect(common.id_token_signing_alg_values_supported).toEqual(["RS256"]);
    const contoso = (await (await fetch(`${EMULATOR}/${CONTOSO_TENANT_ID}/v2.0/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(contoso.issuer).toBe(`${EMULATOR}/${CONTOSO_TENANT_ID}/v2.0`);
    const unknown = await fetch(`${EMULATOR}/11111111-2222-4333-8444-555555555555/v2.0/.well-known/openid-configuration`);
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error_description: string }).error_description).toMatch(/^AADSTS90002/);
  });

  it("serves an RSA signing key with a kid", async () => {
    const { keys } = (await (await fetch(`${EMULATOR}/common/discovery/v2.0/keys`)).json()) as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "RSA", use: "sig", alg: "RS256", e: "AQAB" });
    expect(keys[0]!.kid).toBeTruthy();
    expect(keys[0]!.n!.length).toBeGreaterThan(300);
  });
});

describe("authorize", () => {
  it("shows every demo account and a Cancel button on the picker, carrying the request", async () => {
    const { challenge } = await pkce();
    const res = await fetch(microsoftAuthorizeUrl({ challenge }));
    const html = await res.text();
    expect(html).toContain("<title>Sign in to your account</title>");
    expect(html).toContain("Pick an account");
    expect(html).toContain("Adele Vance — adele@contoso.example");
    expect(html).toContain("Jordan Guest — jordan@fabrikam.example");
    expect(html).toContain("Lee Gu — lee@fabrikam.example");
    expect(html).toMatch(/<button type="submit" name="cancel" value="1">Cancel<\/button>/);
    expect(hiddenFields(html)).toMatchObject({ code_challenge: challenge, state: "state-123", nonce: "nonce-456" });
  });

  it("lists only the tenant's users for a tenant GUID", async () => {
    const { challenge } = await pkce();
    const html = await (await fetch(microsoftAuthorizeUrl({ challenge, tenant: FABRIKAM_TENANT_ID }))).text();
    expect(html).toContain("Lee Gu");
    expect(html).not.toContain("Adele Vance");
  });

  it("never redirects to an unregistered redirect URI or for an unknown client", async () => {
    const { challenge } = await pkce();
    const wrongUri = await fetch(microsoftAuthorizeUrl({ challenge, redirectUri: "https://evil.example/cb" }), { redirect: "manual" });
    expect(wrongUri.status).toBe(400);
    expect(wrongUri.headers.get("Location")).toBeNull();
    expect(await wrongUri.text()).toContain("AADSTS50011");
    const url = new URL(microsoftAuthorizeUrl({ challenge }));
    url.searchParams.set("client_id", "00000000-0000-0000-0000-000000000000");
    const wrongClient = await fetch(url, { redirect: "manual" });
    expect(wrongClient.status).toBe(400);
    expect(await wrongClient.text()).toContain("AADSTS700016");
  });

  it("redirects with invalid_request when PKCE is missing or not S256", async () => {
    const url = new URL(microsoftAuthorizeUrl({ challenge: "x" }));
    url.searchParams.delete("code_challenge");
    const missing = redirectParams(await fetch(url, { redirect: "manual" }));
    expect(missing.get("error")).toBe("invalid_request");
    expect(missing.get("state")).toBe("state-123");
    url.searchParams.set("code_challenge", "abc");
    url.searchParams.set("code_challenge_method", "plain");
    expect(redirectParams(await fetch(url, { redirect: "manual" })).get("error")).toBe("invalid_request");
  });

  it("Cancel answers access_denied with AADSTS65004", async () => {
    const { challenge } = await pkce();
    const html = await (await fetch(microsoftAuthorizeUrl({ challenge }))).text();
    const params = redirectParams(await press(html, { cancel: "1" }));
    expect(params.get("error")).toBe("access_denied");
    expect(params.get("error_description")).toBe("AADSTS65004: User declined to consent to access the app.");
    expect(params.get("state")).toBe("state-123");
  });

  it("refuses a disabled account with AADSTS50057 and no redirect", async () => {
    const { response } = await signInAs(entraUser("diego").oid);
    expect(response.status).toBe(400);
    expect(response.headers.get("Location")).toBeNull();
    expect(await response.text()).toContain("AADSTS50057: User account is disabled.");
  });

  it("shows a non-admin Microsoft's Need admin approval page instead of redirecting", async () => {
    const { response } = await signInAs(megan.oid, { scope: "openid profile User.Read.All Group.Read.All", redirectUri: ENTRA_CALLBACK });
    expect(response.status).toBe(200);
    expect(response.headers.get("Location")).toBeNull();
    const html = await response.text();
    expect(html).toContain("<h1>Need admin approval</h1>");
    expect(html).toContain("Have an admin account? Sign in with that account");
    const params = redirectParams(await press(html, { approval: "return" }));
    expect(Object.fromEntries(params)).toEqual({
      error: "access_denied",
      error_subcode: "cancel",
      error_description: "AADSTS65004: User declined to consent to access the app.",
      state: "state-123",
    });
  });

  it("asks an admin to consent on behalf of the organization, once per tenant", async () => {
    const { response } = await signInAs(adele.oid, { scope: GRAPH_SCOPE, redirectUri: ENTRA_CALLBACK });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("Permissions requested");
    expect(html).toContain("Read all users&#39; full profiles");
    expect(html).toContain("Read all groups");
    expect(html).toContain("Maintain access to data you have given it access to");
    expect(html).toContain("Consent on behalf of your organization");
    expect(hiddenFields(html).account).toBe(adele.oid);
    const accepted = redirectParams(await press(html, { consent: "accept" }));
    expect(accepted.get("code")).toBeTruthy();
    expect(accepted.get("session_state")).toBeTruthy();
    // Consent is tenant-wide: a plain user of Contoso now gets a code without being asked.
    const { response: meganAfter } = await signInAs(megan.oid, { scope: GRAPH_SCOPE, redirectUri: ENTRA_CALLBACK });
    expect(redirectParams(meganAfter).get("code")).toBeTruthy();
  });

  it("Cancel on the consent page answers access_denied", async () => {
    const { response } = await signInAs(adele.oid, { scope: GRAPH_SCOPE });
    const params = redirectParams(await press(await response.text(), { consent: "cancel" }));
    expect(params.get("error")).toBe("access_denied");
  });
});

describe("token endpoint", () => {
  it("redeems a code once for tokens whose ID token verifies against the JWKS", async () => {
    const { response, verifier } = await signInAs(adele.oid);
    const code = redirectParams(response).get("code")!;
    const res = await microsoftToken({ grant_type: "authorization_code", code, redirect_uri: MS_CALLBACK, code_verifier: verifier });
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as Record<string, unknown>;
    expect(tokens).toMatchObject({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599 });
    expect(tokens.refresh_token).toBeTruthy();
    const idToken = tokens.id_token as string;
    expect(await verifiesAgainst(idToken, `${EMULATOR}/common/discovery/v2.0/keys`)).toBe(true);
    const { header, claims } = decodeJwt(idToken);
    expect(header).toMatchObject({ alg: "RS256", typ: "JWT" });
    expect(claims).toMatchObject({
      aud: env.MS_CLIENT_ID,
      iss: `${EMULATOR}/${CONTOSO_TENANT_ID}/v2.0`,
      tid: CONTOSO_TENANT_ID,
      oid: adele.oid,
      nonce: "nonce-456",
      name: "Adele Vance",
      preferred_username: "adele@contoso.example",
      email: "adele@contoso.example",
      ver: "2.0",
      acct: 0,
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);

    const again = await microsoftToken({ grant_type: "authorization_code", code, redirect_uri: MS_CALLBACK, code_verifier: verifier });
    expect(again.status).toBe(400);
    const error = (await again.json()) as Record<string, unknown>;
    expect(error).toMatchObject({ error: "invalid_grant", error_codes: [54005] });
    expect(error.error_description).toMatch(/^AADSTS54005: OAuth2 Authorization code was already redeemed/);
    expect(error.trace_id).toBeTruthy();
    expect(error.correlation_id).toBeTruthy();
    expect(error.timestamp).toBeTruthy();
  });

  it("issues a guest's token for the inviting tenant, named by their mail", async () => {
    const tokens = await microsoftTokens(entraUser("jordan").oid);
    const { claims } = decodeJwt(tokens.id_token as string);
    expect(claims).toMatchObject({ tid: CONTOSO_TENANT_ID, preferred_username: "jordan@fabrikam.example", acct: 1 });
    expect(tokens.refresh_token).toBeTruthy();
  });

  it("rejects a wrong code_verifier with AADSTS501481 and burns the code", async () => {
    const { response, verifier } = await signInAs(adele.oid);
    const code = redirectParams(response).get("code")!;
    const wrong = await microsoftToken({
      grant_type: "authorization_code",
      code,
      redirect_uri: MS_CALLBACK,
      code_verifier: (await pkce()).verifier,
    });
    expect(wrong.status).toBe(400);
    const body = (await wrong.json()) as Record<string, unknown>;
    expect(body.error).toBe("invalid_grant");
    expect(body.error_description).toMatch(/^AADSTS501481: The Code_Verifier does not match the code_challenge/);
    const missing = await microsoftToken({ grant_type: "authorization_code", code, redirect_uri: MS_CALLBACK, code_verifier: verifier });
    expect(((await missing.json()) as Record<string, unknown>).error_codes).toEqual([54005]);
  });

  it("rejects a redirect_uri that differs from the authorization request", async () => {
    const { response, verifier } = await signInAs(adele.oid);
    const code = redirectParams(response).get("code")!;
    const res = await microsoftToken({ grant_type: "authorization_code", code, redirect_uri: ENTRA_CALLBACK, code_verifier: verifier });
    expect(res.status).toBe(400);
    expect((await res.json()) as Record<string, unknown>).toMatchObject({ error: "invalid_grant", error_codes: [500112] });
  });

  it("answers 401 invalid_client for a wrong secret, also with HTTP Basic", async () => {
    const res = await microsoftToken({ grant_type: "authorization_code", code: "x", client_secret: "nope" });
    expect(res.status).toBe(401);
    expect((await res.json()) as Record<string, unknown>).toMatchObject({ error: "invalid_client", error_codes: [7000215] });
    const { response, verifier } = await signInAs(adele.oid);
    const basic = await fetch(`${EMULATOR}/common/oauth2/v2.0/token`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Authorization: `Basic ${btoa(`${env.MS_CLIENT_ID}:${env.MS_CLIENT_SECRET}`)}`,
      },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: redirectParams(response).get("code")!,
        redirect_uri: MS_CALLBACK,
        code_verifier: verifier,
      }),
    });
    expect(basic.status).toBe(200);
  });

  it("returns a new refresh token on each use and keeps the old one valid, as Microsoft does", async () => {
    const first = await microsoftTokens(adele.oid);
    const refreshed = await microsoftToken({ grant_type: "refresh_token", refresh_token: first.refresh_token as string });
    expect(refreshed.status).toBe(200);
    const second = (await refreshed.json()) as Record<string, unknown>;
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    const reuse = await microsoftToken({ grant_type: "refresh_token", refresh_token: first.refresh_token as string });
    expect(reuse.status).toBe(200);
    const newer = await microsoftToken({ grant_type: "refresh_token", refresh_token: second.refresh_token as string });
    expect(newer.status).toBe(200);
  });

  it("refuses to refresh for a user disabled since sign-in", async () => {
    const tokens = await microsoftTokens(entraUser("alex").oid);
    await emulatorAdmin(`users/${entraUser("alex").oid}/disable`);
    const res = await microsoftToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token as string });
    expect((await res.json()) as Record<string, unknown>).toMatchObject({ error: "invalid_grant", error_codes: [50057] });
  });

  it("refuses a refresh token revoked through the admin API with AADSTS50173", async () => {
    const tokens = await microsoftTokens(adele.oid);
    const other = await microsoftTokens(entraUser("lee").oid);
    expect((await emulatorAdmin("grants/revoke", { tenantId: CONTOSO_TENANT_ID })).revoked).toBe(1);
    const res = await microsoftToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token as string });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.error).toBe("invalid_grant");
    expect(body.error_description).toMatch(/^AADSTS50173: The provided grant has expired due to it being revoked/);
    expect(body).toMatchObject({ error_codes: [50173], suberror: "bad_token" });
    for (const field of ["timestamp", "trace_id", "correlation_id"]) expect(body[field]).toEqual(expect.any(String));
    const untouched = await microsoftToken({ grant_type: "refresh_token", refresh_token: other.refresh_token as string });
    expect(untouched.status).toBe(200);
  });
});

describe("ID token tampering", () => {
  const cases = [
    ["aud", (c: Record<string, unknown>) => expect(c.aud).not.toBe(env.MS_CLIENT_ID)],
    ["iss", (c: Record<string, unknown>) => expect(c.iss).not.toBe(`${EMULATOR}/${CONTOSO_TENANT_ID}/v2.0`)],
    ["tid", (c: Record<string, unknown>) => expect(c.tid).not.toBe(CONTOSO_TENANT_ID)],
    ["expired", (c: Record<string, unknown>) => expect(c.exp as number).toBeLessThan(Date.now() / 1000)],
    ["nonce", (c: Record<string, unknown>) => expect(c.nonce).not.toBe("nonce-456")],
  ] as const;
  for (const [kind, check] of cases) {
    it(`makes the next ID token wrong in its ${kind}, then issues good ones again`, async () => {
      await emulatorAdmin("tamper", { kind });
      check(decodeJwt((await microsoftTokens(adele.oid)).id_token as string).claims);
      const next = decodeJwt((await microsoftTokens(adele.oid)).id_token as string).claims;
      expect(next).toMatchObject({ aud: env.MS_CLIENT_ID, tid: CONTOSO_TENANT_ID, nonce: "nonce-456" });
    });
  }

  it("signs with an unpublished key under the published kid", async () => {
    await emulatorAdmin("tamper", { kind: "signature" });
    const forged = (await microsoftTokens(adele.oid)).id_token as string;
    const genuine = (await microsoftTokens(adele.oid)).id_token as string;
    expect(decodeJwt(forged).header.kid).toBe(decodeJwt(genuine).header.kid);
    expect(await verifiesAgainst(forged, `${EMULATOR}/common/discovery/v2.0/keys`)).toBe(false);
    expect(await verifiesAgainst(genuine, `${EMULATOR}/common/discovery/v2.0/keys`)).toBe(true);
  });
});
