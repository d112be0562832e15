// What the emulator serves for movers: users' work profiles, PATCH /_emulator/users/{oid} with
// Graph property names, groups/delta with members@delta, and change notifications on /groups for
// membership changes (a membership change is the group's `updated`, not the user's).
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, entraUser, GROUP_IDS } from "../../demo/directory.ts";
import { emulatorAdmin } from "../support/emulator.ts";
import { EMULATOR, graph, graphToken } from "./helpers.ts";

const adele = entraUser("adele");
const megan = entraUser("megan");
const alex = entraUser("alex");
const HOOK = "http://localhost:8787/realtime/microsoft-graph";
let token: string;

type Page = { value: Record<string, unknown>[]; "@odata.nextLink"?: string; "@odata.deltaLink"?: string };

async function get(path: string): Promise<Page> {
  const res = await graph(path, token);
  expect(res.status).toBe(200);
  return res.json<Page>();
}

async function walk(path: string): Promise<{ items: Record<string, unknown>[]; deltaLink: string }> {
  const items: Record<string, unknown>[] = [];
  let page = await get(path);
  items.push(...page.value);
  while (page["@odata.nextLink"]) {
    page = await get(page["@odata.nextLink"]);
    items.push(...page.value);
  }
  return { items, deltaLink: page["@odata.deltaLink"]! };
}

function patch(oid: string, body: unknown): Promise<Response> {
  return fetch(`${EMULATOR}/_emulator/users/${oid}`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function subscribe(resource: string): Promise<string> {
  const res = await fetch(`${EMULATOR}/v1.0/subscriptions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({
      changeType: "updated,deleted",
      notificationUrl: `${HOOK}/users`,
      resource,
      expirationDateTime: new Date(Date.now() + 3600_000).toISOString(),
      clientState: "s3cret",
    }),
  });
  expect(res.status).toBe(201);
  return (await res.json<{ id: string }>()).id;
}

type Sent = { kind: string; body: string | null };
async function notificationsSent(): Promise<{ subscriptionId: string; resource: string; changeType: string }[]> {
  for (let i = 0; i < 40; i++) {
    const { value } = await emulatorAdmin<{ value: Sent[] }>("notifications/sent", undefined, "GET");
    const sent = value.filter((v) => v.kind === "notification");
    if (sent.length > 0) return sent.flatMap((v) => (JSON.parse(v.body!) as { value: never[] }).value);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return [];
}

beforeEach(async () => {
  await emulatorAdmin("reset");
  token = await graphToken(adele.oid);
});

describe("users' work profiles", () => {
  it("serves department, job title, office, employee id and cost center when selected, and the manager in delta", async () => {
    const user = await get(`/v1.0/users/${alex.oid}?$select=id,jobTitle,officeLocation,department,employeeId,employeeOrgData`);
    expect(user).toMatchObject({
      id: alex.oid,
      department: "IT",
      jobTitle: "Systems Administrator",
      officeLocation: "Manchester",
      employeeId: "E1003",
      employeeOrgData: { costCenter: "CC-220", division: "Operations" },
    });
    // By default Graph returns jobTitle and officeLocation, not department.
    const plain = (await get(`/v1.0/users/${alex.oid}`)) as unknown as Record<string, unknown>;
    expect(plain.jobTitle).toBe("Systems Administrator");
    expect(plain).not.toHaveProperty("department");
    const { items } = await walk("/v1.0/users/delta?$select=id,department,manager");
    expect(items.find((u) => u.id === alex.oid)).toMatchObject({
      department: "IT",
      "manager@delta": [{ "@odata.type": "#microsoft.graph.user", id: adele.oid }],
    });
    expect(items.find((u) => u.id === adele.oid)).toMatchObject({ "manager@delta": [] });
  });

  it("PATCH /_emulator/users/{oid} changes Graph properties, shows in the next delta round and notifies users subscriptions", async () => {
    const { deltaLink } = await walk("/v1.0/users/delta?$select=id,displayName,mail,department,jobTitle,employeeOrgData,manager");
    const subscription = await subscribe("users");
    const res = await patch(megan.oid, {
      displayName: "Megan Bowen-Smith",
      department: "Finance",
      jobTitle: "Finance Manager",
      employeeOrgData: { costCenter: "CC-410" },
      manager: alex.oid,
    });
    expect(res.status).toBe(200);
    const { items } = await walk(deltaLink);
    expect(items).toEqual([
      {
        id: megan.oid,
        displayName: "Megan Bowen-Smith",
        mail: megan.mail,
        department: "Finance",
        jobTitle: "Finance Manager",
        employeeOrgData: { costCenter: "CC-410", division: "Commercial" },
        "manager@delta": [{ "@odata.type": "#microsoft.graph.user", id: alex.oid }],
      },
    ]);
    expect(await notificationsSent()).toEqual([
      expect.objectContaining({ subscriptionId: subscription, changeType: "updated", resource: `Users/${megan.oid}` }),
    ]);
  });

  it("refuses unknown properties, wrong types and unknown managers with 400, changing nothing", async () => {
    const { deltaLink } = await walk("/v1.0/users/delta?$select=id,department");
    for (const body of [
      { favouriteColour: "blue" },
      { department: 42 },
      { displayName: "" },
      { employeeOrgData: { costCenter: 7 } },
      { employeeOrgData: { region: "EU" } },
      { manager: "00000000-0000-0000-0000-000000000000" },
      { manager: megan.oid },
      { employeeId: "x".repeat(17) },
      [],
    ]) {
      const res = await patch(megan.oid, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await patch("00000000-0000-0000-0000-000000000000", { department: "X" })).status).toBe(404);
    expect((await walk(deltaLink)).items).toEqual([]);
  });

  it("keeps hostile values as they are: the app is the one that must cope", async () => {
    const hostile = `<script>alert(1)</script>\u0000\u001b[31m${"é".repeat(120)}`;
    expect((await patch(megan.oid, { department: hostile })).status).toBe(200);
    expect((await get(`/v1.0/users/${megan.oid}?$select=id,department`)) as unknown).toMatchObject({ department: hostile });
  });
});

describe("groups/delta", () => {
  it("lists every group with its members first, then only the members that changed, removed ones marked", async () => {
    const { items, deltaLink } = await walk("/v1.0/groups/delta?$select=id,displayName,members");
    const itStaff = items.find((g) => g.id === GROUP_IDS.itStaff)!;
    expect(itStaff["members@delta"]).toEqual([{ "@odata.type": "#microsoft.graph.user", id: alex.oid }]);
    const admins = items.find((g) => g.id === GROUP_IDS.uniassetAdmins)!;
    expect(admins["members@delta"]).toEqual([{ "@odata.type": "#microsoft.graph.group", id: GROUP_IDS.itStaff }]);

    await emulatorAdmin(`groups/${GROUP_IDS.itStaff}/members/${alex.oid}`, undefined, "DELETE");
    await emulatorAdmin(`groups/${GROUP_IDS.uniassetManagers}/members`, { oid: alex.oid });
    const changes = await walk(deltaLink);
    expect(changes.items).toEqual([
      {
        id: GROUP_IDS.uniassetManagers,
        displayName: "UniAsset Managers",
        "members@delta": [{ "@odata.type": "#microsoft.graph.user", id: alex.oid }],
      },
      {
        id: GROUP_IDS.itStaff,
        displayName: "IT Staff",
        "members@delta": [{ "@odata.type": "#microsoft.graph.user", id: alex.oid, "@removed": { reason: "deleted" } }],
      },
    ]);
    expect((await walk(changes.deltaLink)).items).toEqual([]);
  });

  it("gives a link for now with $deltatoken=latest, and the member's last change wins", async () => {
    const latest = await get("/v1.0/groups/delta?$select=id,members&$deltatoken=latest");
    expect(latest.value).toEqual([]);
    await emulatorAdmin(`groups/${GROUP_IDS.itStaff}/members/${alex.oid}`, undefined, "DELETE");
    await emulatorAdmin(`groups/${GROUP_IDS.itStaff}/members`, { oid: alex.oid });
    const { items } = await walk(latest["@odata.deltaLink"]!);
    expect(items).toEqual([{ id: GROUP_IDS.itStaff, "members@delta": [{ "@odata.type": "#microsoft.graph.user", id: alex.oid }] }]);
  });

  it("answers 410 syncStateNotFound for an expired token, and refuses a users token", async () => {
    const latest = await get("/v1.0/groups/delta?$deltatoken=latest");
    const users = await get("/v1.0/users/delta?$deltatoken=latest");
    expect((await graph(users["@odata.deltaLink"]!.replace("/users/delta", "/groups/delta"), token)).status).toBe(410);
    await emulatorAdmin("delta/expire");
    const res = await graph(latest["@odata.deltaLink"]!, token);
    expect(res.status).toBe(410);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("syncStateNotFound");
  });

  it("survives a restart: a token issued before it still sees the changes after it", async () => {
    const latest = await get("/v1.0/groups/delta?$select=id,members&$deltatoken=latest");
    await emulatorAdmin(`groups/${GROUP_IDS.itStaff}/members/${alex.oid}`, undefined, "DELETE");
    await emulatorAdmin("restart");
    token = await graphToken(adele.oid);
    const { items } = await walk(latest["@odata.deltaLink"]!);
    expect(items).toEqual([
      {
        id: GROUP_IDS.itStaff,
        "members@delta": [{ "@odata.type": "#microsoft.graph.user", id: alex.oid, "@removed": { reason: "deleted" } }],
      },
    ]);
  });
});

describe("change notifications on /groups", () => {
  it("announces a membership change to /groups subscriptions as the group's update, and not to users subscriptions", async () => {
    await subscribe("users");
    const groups = await subscribe("/groups");
    await emulatorAdmin(`groups/${GROUP_IDS.itStaff}/members/${alex.oid}`, undefined, "DELETE");
    const sent = await notificationsSent();
    expect(sent).toEqual([
      expect.objectContaining({
        subscriptionId: groups,
        changeType: "updated",
        resource: `Groups/${GROUP_IDS.itStaff}`,
        resourceData: expect.objectContaining({ "@odata.type": "#Microsoft.Graph.Group", id: GROUP_IDS.itStaff }),
        tenantId: CONTOSO_TENANT_ID,
      }),
    ]);
  });
});
