import { Client, type PageCollection } from "@microsoft/microsoft-graph-client";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, entraUser, GROUP_IDS } from "../../demo/directory.ts";
import { graphClientAs, emulatorForThisFile } from "./harness.ts";

const GRAPH_SCOPES = ["https://graph.microsoft.com/User.Read.All", "https://graph.microsoft.com/Group.Read.All"];
const adele = entraUser("adele");
const megan = entraUser("megan");
const alex = entraUser("alex");
const harness = emulatorForThisFile();

async function graphClient(): Promise<Client> {
  return graphClientAs(harness, adele.oid, GRAPH_SCOPES);
}

/** Follows nextLinks to the deltaLink. */
async function walk(client: Client, first: PageCollection): Promise<{ items: Record<string, unknown>[]; deltaLink: string }> {
  const items: Record<string, unknown>[] = [...first.value];
  let page = first;
  while (page["@odata.nextLink"]) {
    page = (await client.api(page["@odata.nextLink"]).get()) as PageCollection;
    items.push(...page.value);
  }
  return { items, deltaLink: page["@odata.deltaLink"] as string };
}

describe("@microsoft/microsoft-graph-client against the mover endpoints", () => {
  it("reads work profiles with $select, and a PATCH through the admin API shows in the next users delta round", async () => {
    const client = await graphClient();
    const user = (await client
      .api(`/users/${alex.oid}`)
      .select("id,department,jobTitle,officeLocation,employeeId,employeeOrgData")
      .get()) as Record<string, unknown>;
    expect(user).toMatchObject({ department: "IT", jobTitle: "Systems Administrator", employeeOrgData: { costCenter: "CC-220" } });
    const first = (await client.api("/users/delta").select("id,displayName,department,manager").get()) as PageCollection;
    const { deltaLink } = await walk(client, first);
    await harness.admin(`users/${megan.oid}`, { displayName: "Megan Bowen-Smith", department: "Finance" }, "PATCH");
    const { items } = await walk(client, (await client.api(deltaLink).get()) as PageCollection);
    expect(items).toEqual([
      {
        id: megan.oid,
        displayName: "Megan Bowen-Smith",
        department: "Finance",
        "manager@delta": [{ "@odata.type": "#microsoft.graph.user", id: adele.oid }],
      },
    ]);
  });

  it("walks groups/delta to a deltaLink, then sees a removed member as @removed in members@delta", async () => {
    const client = await graphClient();
    const first = (await client.api("/groups/delta").select("id,displayName,members").top(2).get()) as PageCollection;
    const { items, deltaLink } = await walk(client, first);
    expect(items.map((g) => g.displayName)).toEqual(["UniAsset Admins", "UniAsset Managers", "IT Staff", "All Staff"]);
    await harness.admin(`groups/${GROUP_IDS.itStaff}/members/${alex.oid}`, undefined, "DELETE");
    const changes = (await client.api(deltaLink).get()) as PageCollection;
    expect(changes.value).toEqual([
      {
        id: GROUP_IDS.itStaff,
        displayName: "IT Staff",
        "members@delta": [{ "@odata.type": "#microsoft.graph.user", id: alex.oid, "@removed": { reason: "deleted" } }],
      },
    ]);
  });

  it("subscribes to /groups and is notified of a membership change as the group's update", async () => {
    const posted: { value: Record<string, unknown>[] }[] = [];
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
    try {
      const client = await graphClient();
      const created = (await client.api("/subscriptions").post({
        changeType: "updated",
        resource: "/groups",
        notificationUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/graph`,
        expirationDateTime: new Date(Date.now() + 3600_000).toISOString(),
        clientState: "groups-state",
      })) as { id: string };
      await harness.admin(`groups/${GROUP_IDS.itStaff}/members/${alex.oid}`, undefined, "DELETE");
      for (let i = 0; i < 100 && posted.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(posted).toEqual([
        {
          value: [
            expect.objectContaining({
              subscriptionId: created.id,
              changeType: "updated",
              resource: `Groups/${GROUP_IDS.itStaff}`,
              clientState: "groups-state",
              tenantId: CONTOSO_TENANT_ID,
            }),
          ],
        },
      ]);
    } finally {
      receiver.close();
    }
  });
});
