// A run that only adds new people (Add new people automatically on, Auto-deprovision sync off, not
// started by a saved scope) decides nobody's leaving: it must not spend Graph requests confirming
// leavers it would never apply, nor fail over them, since then nobody new is added that night.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CONTOSO_TENANT_ID, entraUser } from "../../demo/directory.ts";
import { emulatorAdmin, emulatorStats } from "../support/emulator.ts";
import { ENTRA_PAGE, connectContoso } from "../support/entra.ts";
import { CONTOSO, nightlyRun, resetWorld, until } from "./support.ts";

const contosoMember = (oid: string) =>
  env.DB.prepare(
    `select m.status from identities i join memberships m on m.user_id = i.user_id and m.organization_id = ?
     where i.provider = 'microsoft' and i.issuer_key = ? and i.subject = ?`,
  )
    .bind(CONTOSO, CONTOSO_TENANT_ID, oid)
    .first<{ status: string }>();

/** The nightly run, its Workflow instance ended: the run's additions come after its row closes. */
async function nightlyRunDone() {
  const run = await nightlyRun();
  const instance = await env.SYNC_WORKFLOW.get(run.id);
  await until(async () => ["complete", "errored", "terminated"].includes((await instance.status()).status), 30_000);
  return run;
}

describe("a run with only Add new people automatically on", () => {
  beforeEach(resetWorld);

  it("adds a joiner and deactivates nobody without reading who left, even while those reads would fail", { timeout: 60_000 }, async () => {
    const adele = await connectContoso();
    await adele.page(ENTRA_PAGE);
    expect((await adele.post(`${ENTRA_PAGE}/import/add-new-people`, { enabled: "true" }, { htmx: true })).status).toBe(200);
    // The first run lists everyone and adds Alex and Isaiah (among others); it stores the delta link.
    expect(await nightlyRunDone()).toMatchObject({ status: "succeeded", mode: "full" });
    for (const key of ["alex", "isaiah"]) expect(await contosoMember(entraUser(key).oid)).toEqual({ status: "active" });

    // Then Alex and Isaiah are disabled in Entra ID and Nina joins: the next delta round lists all three.
    for (const key of ["alex", "isaiah"]) await emulatorAdmin(`users/${entraUser(key).oid}/disable`);
    const { oid: nina } = await emulatorAdmin<{ oid: string }>("users", {
      tenantId: CONTOSO_TENANT_ID,
      displayName: "Nina Newhire",
      userPrincipalName: "nina@contoso.example",
      accountEnabled: true,
      notify: false,
    });
    await emulatorAdmin("stats/reset");
    // Every read of a user by id after the first answers 500: confirming Alex's and Isaiah's leaving
    // (one $batch of both) would meet it and fail the run; reading Nina, the one joiner, does not.
    await emulatorAdmin("faults", { endpoint: "user", status: 500, afterRequests: 1, times: 20 });

    const run = await nightlyRunDone();
    expect(run).toMatchObject({ status: "succeeded", mode: "delta", deactivated: 0, error: null });
    expect(await contosoMember(nina)).toEqual({ status: "active" });
    for (const key of ["alex", "isaiah"]) expect(await contosoMember(entraUser(key).oid)).toEqual({ status: "active" });
    // Graph was asked for one user by id, Nina (the joiner's read), and for no leaver.
    const stats = await emulatorStats();
    expect(stats.requests.user ?? 0).toBe(1);
    expect(stats.requests.batch ?? 0).toBe(1);
  });
});
