// A restarted emulator is the Microsoft it was before: consents, grants and tokens, users and groups
// changed through the admin API, synthetic tenants, subscriptions, the delta generation and the
// signing keys are kept in its Durable Object's storage. POST /_emulator/restart drops memory and
// reloads storage, as a new `npm start` would; POST /_emulator/reset still starts afresh.
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, GROUPS, entraUser } from "../../demo/directory.ts";
import { emulatorAdmin, emulatorStats } from "../support/emulator.ts";
import { EMULATOR, GRAPH_SCOPE, graph, microsoftToken, microsoftTokens, signInAs, verifiesAgainst } from "./helpers.ts";

const adele = entraUser("adele");
const megan = entraUser("megan");
const HOOK = "http://localhost:8787/realtime/microsoft-graph";

type Page = { value: Record<string, unknown>[]; "@odata.nextLink"?: string; "@odata.deltaLink"?: string };

async function json<T = Page>(response: Response): Promise<T> {
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as T;
}

/** Walks a delta round to its end; returns the users listed and the next delta link. */
async function deltaRound(url: string, token: string): Promise<{ users: Record<string, unknown>[]; deltaLink: string }> {
  const users: Record<string, unknown>[] = [];
  let next = url;
  for (;;) {
    const page: Page = await json(await graph(next, token));
    users.push(...page.value);
    if (page["@odata.deltaLink"]) return { users, deltaLink: page["@odata.deltaLink"] };
    next = page["@odata.nextLink"]!;
  }
}

/** Adele consents for Contoso and gets Graph tokens, as Connect Entra ID does. */
async function contosoTokens(): Promise<{ access: string; refresh: string; idToken: string }> {
  const tokens = await microsoftTokens(adele.oid, { tenant: CONTOSO_TENANT_ID, scope: GRAPH_SCOPE, acceptConsent: true });
  return { access: tokens.access_token as string, refresh: tokens.refresh_token as string, idToken: tokens.id_token as string };
}

const refresh = (refreshToken: string) =>
  microsoftToken({ grant_type: "refresh_token", refresh_token: refreshToken, scope: GRAPH_SCOPE }, CONTOSO_TENANT_ID);

beforeEach(async () => {
  await emulatorAdmin("reset");
});

describe("POST /_emulator/restart", () => {
  it("keeps the grant: the refresh token still redeems and the access token still reads Graph", async () => {
    const before = await contosoTokens();
    await emulatorAdmin("restart");
    const refreshed = await refresh(before.refresh);
    expect(refreshed.status, await refreshed.clone().text()).toBe(200);
    expect((await json<{ id: string }>(await graph(`/v1.0/users/${megan.oid}`, before.access))).id).toBe(megan.oid);
    // The same published key: an ID token signed after the restart verifies against the JWKS kept from before.
    const after = (await refreshed.json()) as { id_token: string };
    expect(await verifiesAgainst(before.idToken, `${EMULATOR}/common/discovery/v2.0/keys`)).toBe(true);
    expect(await verifiesAgainst(after.id_token, `${EMULATOR}/common/discovery/v2.0/keys`)).toBe(true);
  });

  it("keeps the delta generation and every admin-API change: a delta link from before lists exactly what changed since", async () => {
    const { access } = await contosoTokens();
    const { deltaLink } = await deltaRound("/v1.0/users/delta?$select=displayName,accountEnabled", access);
    await emulatorAdmin(`users/${megan.oid}/disable`);
    const { oid: added } = await emulatorAdmin<{ oid: string }>("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Restart Tester",
      userPrincipalName: "restart.tester@contoso.example",
    });
    const managers = GROUPS.find((g) => g.displayName === "UniAsset Managers")!;
    await emulatorAdmin(`groups/${managers.id}/rename`, { displayName: "UniAsset Leads" });
    const { id: newGroup } = await emulatorAdmin<{ id: string }>("groups", { tenantId: CONTOSO_TENANT_ID, displayName: "Night Shift" });
    await emulatorAdmin(`groups/${newGroup}/members`, { oid: added });

    await emulatorAdmin("restart");

    const changes = await deltaRound(deltaLink, access);
    expect(changes.users.map((u) => [u.id, u.accountEnabled])).toEqual([
      [megan.oid, false],
      [added, true],
    ]);
    const listed = await json(await graph("/v1.0/users?$select=id,accountEnabled&$top=999", access));
    expect(listed.value.find((u) => u.id === megan.oid)?.accountEnabled).toBe(false);
    expect(listed.value.at(-1)?.id).toBe(added);
    const groups = await json(await graph("/v1.0/groups?$top=999", access));
    expect(groups.value.map((g) => g.displayName)).toContain("UniAsset Leads");
    expect(groups.value.at(-1)?.displayName).toBe("Night Shift");
    const members = await json(await graph(`/v1.0/groups/${newGroup}/members`, access));
    expect(members.value.map((u) => u.id)).toEqual([added]);
    // Megan, disabled, still cannot sign in.
    const { response } = await signInAs(megan.oid, { tenant: CONTOSO_TENANT_ID });
    expect(await response.text()).toContain("AADSTS50057");
  });

  it("keeps synthetic tenants as specs, their changed users, consents, subscriptions and settings; drops test instruments", async () => {
    const tenant = await emulatorAdmin<{ tenantId: string; adminOid: string }>("synthetic-tenants", {
      users: 50_000,
      groups: 5,
      seed: 9,
      domain: "kept.example",
      consented: true,
    });
    const user7 = `${tenant.adminOid.slice(0, -12)}${(7).toString(16).padStart(12, "0")}`;
    await emulatorAdmin(`users/${user7}/delete`);
    await emulatorAdmin("registration", { groupMembershipClaims: "All" });
    await emulatorAdmin(`tenants/${CONTOSO_TENANT_ID}/admin-consent-workflow`, { enabled: true });
    const { access } = await contosoTokens();
    const created = await fetch(`${EMULATOR}/v1.0/subscriptions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${access}`, "content-type": "application/json" },
      body: JSON.stringify({
        resource: "users",
        changeType: "updated",
        notificationUrl: `${HOOK}/users`,
        clientState: "kept",
        expirationDateTime: new Date(Date.now() + 3600_000).toISOString(),
      }),
    });
    expect(created.status).toBe(201);
    const { id: subscriptionId } = (await created.json()) as { id: string };
    await emulatorAdmin("faults", { endpoint: "users", status: 503, times: 5 });
    await emulatorAdmin("notifications", { drop: 3 });

    await emulatorAdmin("restart");

    // Still consented: the synthetic admin gets Graph tokens without a consent page.
    const synthetic = await microsoftTokens(tenant.adminOid, { tenant: tenant.tenantId, scope: GRAPH_SCOPE });
    const syntheticAccess = synthetic.access_token as string;
    expect((await json<{ id: string }>(await graph(`/v1.0/users/${tenant.adminOid}`, syntheticAccess))).id).toBe(tenant.adminOid);
    expect((await graph(`/v1.0/users/${user7}`, syntheticAccess)).status).toBe(404);
    expect((await emulatorAdmin<{ groupMembershipClaims: string }>("registration", undefined, "GET")).groupMembershipClaims).toBe("All");
    expect(
      (await emulatorAdmin<{ enabled: boolean }>(`tenants/${CONTOSO_TENANT_ID}/admin-consent-workflow`, undefined, "GET")).enabled,
    ).toBe(true);
    const subscriptions = await emulatorAdmin<{ value: { id: string; clientState: string }[] }>("subscriptions", undefined, "GET");
    expect(subscriptions.value).toEqual([expect.objectContaining({ id: subscriptionId, clientState: "kept" })]);
    // Faults, dropped notifications and counters are a test's instruments, not Microsoft's state.
    expect((await emulatorAdmin<{ faults: unknown[] }>("faults", undefined, "GET")).faults).toEqual([]);
    expect((await emulatorAdmin<{ drop: number }>("notifications", {})).drop).toBe(0);
    expect((await emulatorStats()).requests.users ?? 0).toBe(0);
  });

  it("after a reset, a restart finds the demo world: nothing issued or changed before the reset comes back", async () => {
    const before = await contosoTokens();
    await emulatorAdmin(`users/${megan.oid}/disable`);
    await emulatorAdmin("reset");
    await emulatorAdmin("restart");

    const refreshed = await refresh(before.refresh);
    expect(refreshed.status).toBe(400);
    expect(((await refreshed.json()) as { error_codes: number[] }).error_codes).toEqual([9002313]);
    expect((await graph(`/v1.0/users/${megan.oid}`, before.access)).status).toBe(401);
    const { access } = await contosoTokens();
    expect(
      (await json<{ accountEnabled: boolean }>(await graph(`/v1.0/users/${megan.oid}?$select=accountEnabled`, access))).accountEnabled,
    ).toBe(true);
    expect((await emulatorAdmin<{ value: unknown[] }>("subscriptions", undefined, "GET")).value).toEqual([]);
  });

  it("keeps a revoked or withdrawn grant revoked", async () => {
    const { refresh: refreshToken } = await contosoTokens();
    await emulatorAdmin("consents/revoke", { tenantId: CONTOSO_TENANT_ID });
    await emulatorAdmin("restart");
    const refused = await refresh(refreshToken);
    expect(((await refused.json()) as { error_codes: number[] }).error_codes).toEqual([65001]);

    const again = await contosoTokens();
    await emulatorAdmin("grants/revoke", { tenantId: CONTOSO_TENANT_ID });
    await emulatorAdmin("restart");
    const revoked = await refresh(again.refresh);
    expect(((await revoked.json()) as { error_codes: number[] }).error_codes).toEqual([50173]);
  });
});
