// Microsoft's own client libraries as judges of the emulator: @azure/msal-node runs the
// authorization-code flow with PKCE, refreshes and classifies errors; @microsoft/microsoft-graph-client
// pages, walks delta, retries throttling and parses Graph errors. A failure here is an emulator bug.
import {
  ConfidentialClientApplication,
  CryptoProvider,
  InteractionRequiredAuthError,
  ServerError,
  type AuthenticationResult,
} from "@azure/msal-node";
import { Client, GraphError, PageIterator, type PageCollection } from "@microsoft/microsoft-graph-client";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, entraUser } from "../../demo/directory.ts";
import { APP_ORIGIN, CLIENT_ID, CLIENT_SECRET, msalNetworkClient, ORIGIN, pickAccount, emulatorForThisFile, TLS_PORT } from "./harness.ts";

const REDIRECT_URI = `${APP_ORIGIN}/auth/microsoft/callback`;
const GRAPH_SCOPES = ["https://graph.microsoft.com/User.Read.All", "https://graph.microsoft.com/Group.Read.All"];
const adele = entraUser("adele");
const alex = entraUser("alex");
const harness = emulatorForThisFile();

function msal(authority = `${ORIGIN}/organizations`): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, authority, knownAuthorities: [`localhost:${TLS_PORT}`] },
    system: { networkClient: msalNetworkClient(harness.httpsAgent) },
  });
}

/** The authorization-code flow with PKCE, the user's part done by posting the account picker's form. */
async function signIn(app: ConfidentialClientApplication, oid: string, scopes: string[], consent = false): Promise<AuthenticationResult> {
  const pkce = await new CryptoProvider().generatePkceCodes();
  const url = await app.getAuthCodeUrl({
    scopes,
    redirectUri: REDIRECT_URI,
    codeChallenge: pkce.challenge,
    codeChallengeMethod: "S256",
    state: "msal-state",
    responseMode: "query",
  });
  const back = await pickAccount(harness, url, oid, consent ? { consent: "accept" } : {});
  expect(back.searchParams.get("state")).toBe("msal-state");
  const code = back.searchParams.get("code");
  expect(code, back.toString()).toBeTruthy();
  return app.acquireTokenByCode(
    { code: code!, scopes, redirectUri: REDIRECT_URI, codeVerifier: pkce.verifier, state: "msal-state" },
    { code: code!, state: "msal-state" },
  );
}

describe("@azure/msal-node", () => {
  it("completes the authorization-code flow with PKCE and refreshes silently", async () => {
    const app = msal();
    const first = await signIn(app, adele.oid, ["User.Read"]);
    expect(first.idTokenClaims).toMatchObject({ oid: adele.oid, tid: CONTOSO_TENANT_ID, aud: CLIENT_ID });
    expect(first.account?.tenantId).toBe(CONTOSO_TENANT_ID);
    expect(first.accessToken).toBeTruthy();
    const refreshed = await app.acquireTokenSilent({ account: first.account!, scopes: ["User.Read"], forceRefresh: true });
    expect(refreshed.accessToken).toBeTruthy();
    expect(refreshed.accessToken).not.toBe(first.accessToken);
    // And once more: the refresh token MSAL kept is still good after it was used.
    const again = await app.acquireTokenSilent({ account: first.account!, scopes: ["User.Read"], forceRefresh: true });
    expect(again.accessToken).not.toBe(refreshed.accessToken);
  });

  it("turns a revoked grant into InteractionRequiredAuthError (invalid_grant, suberror bad_token)", async () => {
    const app = msal();
    const first = await signIn(app, adele.oid, ["User.Read"]);
    await harness.admin("grants/revoke", { oid: adele.oid });
    const error = await app.acquireTokenSilent({ account: first.account!, scopes: ["User.Read"], forceRefresh: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InteractionRequiredAuthError);
    expect(error).toMatchObject({ errorCode: "invalid_grant", subError: "bad_token" });
    expect((error as InteractionRequiredAuthError).errorMessage).toMatch(/AADSTS50173/);
  });

  it("reports a refresh token it does not know as a ServerError with Microsoft's error code", async () => {
    const error = await msal()
      .acquireTokenByRefreshToken({ refreshToken: "not-a-refresh-token", scopes: ["User.Read"] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ errorCode: "invalid_grant" });
    expect((error as ServerError).errorMessage).toMatch(/AADSTS9002313/);
  });

  it("gets Graph permissions after an admin consents, through a tenant's domain-name authority", async () => {
    const result = await signIn(msal(`${ORIGIN}/contoso.example`), adele.oid, GRAPH_SCOPES, true);
    expect(result.scopes).toEqual(expect.arrayContaining(GRAPH_SCOPES));
    expect(result.idTokenClaims).toMatchObject({ tid: CONTOSO_TENANT_ID, wids: ["62e90394-69f5-4237-9190-012177145e10"] });
  });
});

describe("@microsoft/microsoft-graph-client", () => {
  async function graphClient(): Promise<Client> {
    const token = (await signIn(msal(), adele.oid, GRAPH_SCOPES, true)).accessToken;
    return Client.initWithMiddleware({
      baseUrl: `${ORIGIN}/`,
      customHosts: new Set(["localhost"]),
      defaultVersion: "v1.0",
      authProvider: { getAccessToken: async () => token },
      fetchOptions: { dispatcher: harness.dispatcher } as RequestInit,
    });
  }

  it("pages /users with PageIterator", async () => {
    const client = await graphClient();
    const first = (await client.api("/users").select("id,userPrincipalName").top(2).get()) as PageCollection;
    expect(first["@odata.nextLink"]).toMatch(/^https:\/\/localhost:9143\/v1\.0\/users\?/);
    const upns: string[] = [];
    await new PageIterator(client, first, (user: { userPrincipalName: string }) => {
      upns.push(user.userPrincipalName);
      return true;
    }).iterate();
    expect(upns).toHaveLength(7);
    expect(upns).toContain("adele@contoso.example");
  });

  it("walks /users/delta to a deltaLink and sees a deletion as @removed", async () => {
    const client = await graphClient();
    let page = (await client.api("/users/delta").select("displayName,accountEnabled").get()) as PageCollection;
    while (page["@odata.nextLink"]) page = (await client.api(page["@odata.nextLink"]).get()) as PageCollection;
    const deltaLink = page["@odata.deltaLink"] as string;
    expect(deltaLink).toBeTruthy();
    await harness.admin(`users/${alex.oid}/delete`);
    const changes = (await client.api(deltaLink).get()) as PageCollection;
    expect(changes.value).toEqual([{ id: alex.oid, "@removed": { reason: "changed" } }]);
  });

  it("retries a 429 after its Retry-After with the RetryHandler", async () => {
    const client = await graphClient();
    await harness.admin("faults", { endpoint: "users", status: 429, retryAfter: 1, times: 1 });
    const started = Date.now();
    const users = (await client.api("/users").select("id").get()) as PageCollection;
    expect(users.value.length).toBe(7);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const stats = await harness.admin("stats", undefined, "GET");
    expect((stats.requests as Record<string, number>).users).toBe(2);
  });

  it("creates, renews and deletes a subscription on users, which validates the URL and notifies it", async () => {
    // The receiver: answers the validation handshake, keeps what is posted.
    const posted: unknown[] = [];
    const receiver = createServer((request, response) => {
      const token = new URL(request.url ?? "/", "http://x").searchParams.get("validationToken");
      if (token !== null) {
        response.writeHead(200, { "content-type": "text/plain" }).end(token);
        return;
      }
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        posted.push(JSON.parse(body));
        response.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/graph`;
    try {
      const client = await graphClient();
      const expiry = new Date(Date.now() + 3600_000).toISOString();
      const created = (await client.api("/subscriptions").post({
        changeType: "updated,deleted",
        resource: "users",
        notificationUrl: url,
        lifecycleNotificationUrl: url,
        expirationDateTime: expiry,
        clientState: "judge-state",
      })) as { id: string; resource: string; expirationDateTime: string };
      expect(created).toMatchObject({ resource: "users" });
      await harness.admin(`users/${alex.oid}/disable`);
      for (let i = 0; i < 100 && posted.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(posted[0]).toMatchObject({ value: [{ subscriptionId: created.id, clientState: "judge-state", tenantId: CONTOSO_TENANT_ID }] });

      const later = new Date(Date.now() + 7200_000).toISOString();
      const renewed = (await client.api(`/subscriptions/${created.id}`).patch({ expirationDateTime: later })) as {
        expirationDateTime: string;
      };
      expect(Date.parse(renewed.expirationDateTime)).toBe(Date.parse(later));
      // Past the users resource's maximum (41,760 minutes): Graph's error, parsed by the client.
      const tooLong = new Date(Date.now() + 50 * 86_400_000).toISOString();
      const refused = await client
        .api(`/subscriptions/${created.id}`)
        .patch({ expirationDateTime: tooLong })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(refused).toBeInstanceOf(GraphError);
      expect((refused as GraphError).statusCode).toBe(400);
      await client.api(`/subscriptions/${created.id}`).delete();
      const gone = await client
        .api(`/subscriptions/${created.id}`)
        .get()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(gone).toMatchObject({ statusCode: 404 });
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it("parses Graph errors into GraphError with status and code", async () => {
    const client = await graphClient();
    const error = await client
      .api("/users/00000000-0000-0000-0000-000000000000")
      .get()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(GraphError);
    expect(error).toMatchObject({ statusCode: 404, code: "Request_ResourceNotFound" });
  });
});
