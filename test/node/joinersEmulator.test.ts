import { Client, GraphError, type PageCollection } from "@microsoft/microsoft-graph-client";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, entraUser } from "../../demo/directory.ts";
import { ORIGIN, graphClientAs, emulatorForThisFile } from "./harness.ts";

const APP_SCOPES = ["https://graph.microsoft.com/User.Read.All", "https://graph.microsoft.com/Group.Read.All"];
const adele = entraUser("adele");
const harness = emulatorForThisFile();

async function graphClient(scopes = APP_SCOPES): Promise<Client> {
  return graphClientAs(harness, adele.oid, scopes);
}

describe("Contoso's verified domains", () => {
  it("/organization lists three, the onmicrosoft.com one marked initial; Isaiah is in the UK one", async () => {
    const client = await graphClient();
    const { value } = (await client.api("/organization").select("id,verifiedDomains").get()) as {
      value: { verifiedDomains: { name: string; isInitial: boolean; isDefault: boolean }[] }[];
    };
    expect(value[0]!.verifiedDomains.map((d) => [d.name, d.isDefault, d.isInitial])).toEqual([
      ["contoso.example", true, false],
      ["contoso-uk.example", false, false],
      ["contoso.onmicrosoft.com", false, true],
    ]);
    const isaiah = (await client
      .api(`/users/${entraUser("isaiah").oid}`)
      .select("userPrincipalName,accountEnabled")
      .get()) as Record<string, unknown>;
    expect(isaiah).toMatchObject({ userPrincipalName: "isaiah@contoso-uk.example", accountEnabled: true });
  });

  it("/domains needs Domain.Read.All: refused with the app's permissions, listed with it", async () => {
    const refused = await (await graphClient())
      .api("/domains")
      .get()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(GraphError);
    expect(refused).toMatchObject({ statusCode: 403, code: "Authorization_RequestDenied" });
    const client = await graphClient(["https://graph.microsoft.com/Domain.Read.All"]);
    const { value } = (await client.api("/domains").get()) as { value: { id: string; isVerified: boolean; isInitial: boolean }[] };
    expect(value.map((d) => [d.id, d.isVerified, d.isInitial])).toEqual([
      ["contoso.example", true, false],
      ["contoso-uk.example", true, false],
      ["contoso.onmicrosoft.com", true, true],
    ]);
  });

  it("a domain added in the tenant appears, and one removed goes", async () => {
    const client = await graphClient();
    await harness.admin(`tenants/${CONTOSO_TENANT_ID}/domains`, { name: "contoso-de.example" });
    await harness.admin(`tenants/${CONTOSO_TENANT_ID}/domains/contoso-uk.example`, undefined, "DELETE");
    const { value } = (await client.api("/organization").select("verifiedDomains").get()) as {
      value: { verifiedDomains: { name: string }[] }[];
    };
    expect(value[0]!.verifiedDomains.map((d) => d.name)).toEqual(["contoso.example", "contoso.onmicrosoft.com", "contoso-de.example"]);
  });
});

describe("POST /_emulator/users", () => {
  it("a new person is on /users/delta and announced to subscriptions as created and updated", async () => {
    const posted: { value: { changeType: string; resource: string; resourceData: { id: string } }[] }[] = [];
    const receiver = createServer((request, response) => {
      const token = new URL(request.url ?? "/", "http://x").searchParams.get("validationToken");
      if (token !== null) return void response.writeHead(200, { "content-type": "text/plain" }).end(token);
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
      let page = (await client.api("/users/delta").select("userPrincipalName,accountEnabled").get()) as PageCollection;
      while (page["@odata.nextLink"]) page = (await client.api(page["@odata.nextLink"]).get()) as PageCollection;
      const deltaLink = page["@odata.deltaLink"] as string;
      const expirationDateTime = new Date(Date.now() + 3600_000).toISOString();
      await client
        .api("/subscriptions")
        .post({ changeType: "created,updated,deleted", resource: "users", notificationUrl: url, expirationDateTime });

      const created = await harness.admin("users", {
        tenantId: CONTOSO_TENANT_ID,
        displayName: "Nina Newhire",
        userPrincipalName: "nina@contoso-uk.example",
        mailNickname: "nina",
        accountEnabled: true,
        passwordProfile: { forceChangePasswordNextSignIn: true, password: "unused-by-the-emulator" },
      });
      const oid = created.id as string;
      for (let i = 0; i < 100 && posted.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(posted).toHaveLength(1);
      expect(posted[0]!.value.map((item) => [item.changeType, item.resource, item.resourceData.id])).toEqual([
        ["created", `Users/${oid}`, oid],
        ["updated", `Users/${oid}`, oid],
      ]);
      const changes = (await client.api(deltaLink).get()) as PageCollection;
      expect(changes.value).toEqual([{ id: oid, userPrincipalName: "nina@contoso-uk.example", accountEnabled: true }]);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it("refuses a malformed person with 400 and creates nobody", async () => {
    const res = await harness.fetch(`${ORIGIN}/_emulator/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenantId: CONTOSO_TENANT_ID, displayName: "No Name", userPrincipalName: "no-at-sign", accountEnabled: "yes" }),
    });
    expect(res.status).toBe(400);
    const again = await harness.fetch(`${ORIGIN}/_emulator/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenantId: CONTOSO_TENANT_ID, displayName: "Adele Twice", userPrincipalName: "adele@contoso.example" }),
    });
    expect(again.status).toBe(400);
    const client = await graphClient();
    const users = (await client.api("/users").select("id").get()) as PageCollection;
    expect(users.value).toHaveLength(7);
  });
});
