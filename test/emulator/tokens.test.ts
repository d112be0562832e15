// Token contents and refresh failures that depend on the app registration and the tenant's consent:
// wids (groupMembershipClaims), refresh-token expiry and withdrawn admin consent.
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, entraUser } from "../../demo/directory.ts";
import { decodeJwt, GRAPH_SCOPE, microsoftToken, microsoftTokens } from "./helpers.ts";
import { emulatorAdmin } from "../support/emulator.ts";

const adele = entraUser("adele");
const megan = entraUser("megan");
const GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10";

beforeEach(async () => {
  await emulatorAdmin("reset");
});

describe("wids follows the registration's groupMembershipClaims", () => {
  it("carries a Global Administrator's role template id by default (DirectoryRole) and nothing for a plain user", async () => {
    expect((await emulatorAdmin("registration", undefined, "GET")).groupMembershipClaims).toBe("DirectoryRole");
    expect(decodeJwt((await microsoftTokens(adele.oid)).id_token as string).claims.wids).toEqual([GLOBAL_ADMIN]);
    expect(decodeJwt((await microsoftTokens(megan.oid)).id_token as string).claims).not.toHaveProperty("wids");
  });

  it("omits wids for None and SecurityGroup, emits it for All; reset restores DirectoryRole", async () => {
    for (const [value, expected] of [
      ["None", undefined],
      ["SecurityGroup", undefined],
      ["All", [GLOBAL_ADMIN]],
    ] as const) {
      await emulatorAdmin("registration", { groupMembershipClaims: value });
      expect(decodeJwt((await microsoftTokens(adele.oid)).id_token as string).claims.wids).toEqual(expected);
    }
    await emulatorAdmin("reset");
    expect(decodeJwt((await microsoftTokens(adele.oid)).id_token as string).claims.wids).toEqual([GLOBAL_ADMIN]);
  });

  it("refuses an unknown groupMembershipClaims value", async () => {
    await expect(emulatorAdmin("registration", { groupMembershipClaims: "Everything" })).rejects.toThrow(/400/);
  });
});

describe("refresh failures", () => {
  it("answers an expired refresh token with AADSTS700082 and suberror bad_token", async () => {
    const tokens = await microsoftTokens(adele.oid);
    await emulatorAdmin("refresh-tokens/expire");
    const res = await microsoftToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token as string });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: "invalid_grant", error_codes: [700082], suberror: "bad_token" });
    expect(body.error_description).toMatch(/^AADSTS700082: /);
  });

  it("answers a refresh after the admin consent was withdrawn with AADSTS65001 and suberror consent_required", async () => {
    const tokens = await microsoftTokens(adele.oid, { scope: GRAPH_SCOPE, acceptConsent: true });
    const before = await microsoftToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token as string });
    expect(before.status).toBe(200);
    expect((await emulatorAdmin("consents/revoke", { tenantId: CONTOSO_TENANT_ID })).removed).toBe(true);
    const res = await microsoftToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token as string });
    expect(res.status).toBe(400);
    expect((await res.json()) as Record<string, unknown>).toMatchObject({
      error: "invalid_grant",
      error_codes: [65001],
      suberror: "consent_required",
    });
    // A sign-in-only refresh token needs no admin consent and keeps working.
    const signIn = await microsoftTokens(megan.oid);
    expect((await microsoftToken({ grant_type: "refresh_token", refresh_token: signIn.refresh_token as string })).status).toBe(200);
  });
});
