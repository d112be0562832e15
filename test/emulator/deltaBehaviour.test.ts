// Delta rounds as Microsoft documents them: 410 Gone with a Location header for a sync reset, and,
// under POST /_emulator/delta/disorder, no promised order and users listed more than once.
import { beforeEach, describe, expect, it } from "vitest";
import { EMULATOR, graph, graphToken } from "./helpers.ts";
import { emulatorAdmin } from "../support/emulator.ts";

type Page = { value: Record<string, unknown>[]; "@odata.nextLink"?: string; "@odata.deltaLink"?: string };
let token: string;
let tenant: Record<string, unknown>;

async function round(url: string): Promise<{ items: Record<string, unknown>[]; deltaLink: string }> {
  const items: Record<string, unknown>[] = [];
  let next: string | undefined = url;
  let deltaLink = "";
  while (next) {
    const res = await graph(next, token);
    expect(res.status).toBe(200);
    const page = (await res.json()) as Page;
    items.push(...page.value);
    next = page["@odata.nextLink"];
    if (page["@odata.deltaLink"]) deltaLink = page["@odata.deltaLink"];
  }
  return { items, deltaLink };
}

/** What a client following Microsoft's advice ends with: the last occurrence of each id wins. */
function lastWins(items: Record<string, unknown>[]): Map<string, Record<string, unknown>> {
  const state = new Map<string, Record<string, unknown>>();
  for (const item of items) state.set(item.id as string, item);
  return state;
}

beforeEach(async () => {
  await emulatorAdmin("reset");
  tenant = await emulatorAdmin("synthetic-tenants", { users: 300, domain: "delta.example", consented: true, seed: 7 });
  token = await graphToken(tenant.adminOid as string, tenant.tenantId as string);
});

describe("synchronization reset", () => {
  it("answers an expired delta token with 410 Gone, syncStateNotFound and a Location for a fresh round", async () => {
    const { deltaLink } = await round("/v1.0/users/delta?$select=displayName,accountEnabled&$top=200");
    await emulatorAdmin("delta/expire");
    const res = await graph(deltaLink, token);
    expect(res.status).toBe(410);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("syncStateNotFound");
    const location = res.headers.get("Location")!;
    expect(location).toBe(`${EMULATOR}/v1.0/users/delta?$select=${encodeURIComponent("displayName,accountEnabled")}&$top=200`);
    const restart = await round(location);
    expect(new Set(restart.items.map((u) => u.id)).size).toBe(300);
  });
});

describe("disorder", () => {
  it("lists a full round shuffled with repeats, every user present, and reset turns it off", async () => {
    const ordered = (await round("/v1.0/users/delta?$select=userPrincipalName&$top=100")).items.map((u) => u.id);
    expect(new Set(ordered).size).toBe(ordered.length);
    await emulatorAdmin("delta/disorder", { shuffle: true, repeat: true });
    const { items } = await round("/v1.0/users/delta?$select=userPrincipalName&$top=100");
    const ids = items.map((u) => u.id as string);
    expect(new Set(ids)).toEqual(new Set(ordered));
    expect(ids.length).toBeGreaterThan(ordered.length);
    const firstSeen = [...new Set(ids)];
    expect(firstSeen).not.toEqual(ordered);
    await emulatorAdmin("reset");
    tenant = await emulatorAdmin("synthetic-tenants", { users: 300, domain: "delta.example", consented: true, seed: 7 });
    token = await graphToken(tenant.adminOid as string, tenant.tenantId as string);
    const again = (await round("/v1.0/users/delta?$select=userPrincipalName&$top=100")).items.map((u) => u.id);
    expect(again).toHaveLength(300);
  });

  it("repeats without shuffling keep the listing order and append the replays", async () => {
    await emulatorAdmin("delta/disorder", { shuffle: false, repeat: true });
    const { items } = await round("/v1.0/users/delta?$select=userPrincipalName&$top=999");
    expect(items.slice(0, 300).map((u) => u.userPrincipalName)).toEqual(Array.from({ length: 300 }, (_, i) => `user${i}@delta.example`));
    expect(items.length).toBeGreaterThan(300);
  });

  it("keeps the round right as a whole: the last occurrence of each changed user is its current state", async () => {
    const { deltaLink } = await round("/v1.0/users/delta?$select=accountEnabled,displayName&$top=50");
    const listing = (await (await graph("/v1.0/users?$select=id&$top=40", token)).json()) as Page;
    const changed = listing.value.slice(1, 40).map((u) => u.id as string);
    const disabled = changed.slice(0, 20);
    const deleted = changed.slice(20);
    for (const oid of disabled) await emulatorAdmin(`users/${oid}/disable`);
    for (const oid of deleted) await emulatorAdmin(`users/${oid}/delete`);
    await emulatorAdmin("delta/disorder", { shuffle: true, repeat: true });
    const { items } = await round(deltaLink);
    expect(items.length).toBeGreaterThan(changed.length);
    const final = lastWins(items);
    expect([...final.keys()].sort()).toEqual([...changed].sort());
    for (const oid of disabled) expect(final.get(oid)).toMatchObject({ id: oid, accountEnabled: false });
    for (const oid of deleted) expect(final.get(oid)).toEqual({ id: oid, "@removed": { reason: "changed" } });
    // Earlier occurrences are replays of the user as they were, which only the last one corrects.
    const replayed = items.filter((item, i) => items.findIndex((o) => o.id === item.id) === i && final.get(item.id as string) !== item);
    for (const item of replayed) expect(item).toMatchObject({ accountEnabled: true });
  });
});
