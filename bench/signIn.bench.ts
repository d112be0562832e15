// The sign-in callback's cost (printed, not asserted): D1 round trips, statements and rows, and
// Graph round trips, for the ways a person gets in. The callback runs through the real app with
// its D1 binding (and every D1 session made from it) wrapped by a counter; the OAuth round trip
// before it (authorize, code exchange) is not measured. Target: ≤ 2 D1 and ≤ 1 Graph round trips.
import { env } from "cloudflare:test";
import { it } from "vitest";
import { GROUP_IDS, entraUser, googleAccount } from "../demo/directory.ts";
import { mapGroup } from "../test/support/directory.ts";
import { connectContoso } from "../test/support/entra.ts";
import { measureCallback } from "../test/support/signInCost.ts";
import { resetDemoWorld } from "../test/support/world.ts";
import { DEMO_ORGS } from "../demo/seed.ts";
import { makeScimToken, pushUser } from "../test/support/scim.ts";

async function report(name: string, provider: "microsoft" | "google", account: string) {
  const cost = await measureCallback(provider, account);
  const line = {
    scenario: "signin",
    case: name,
    status: cost.status,
    d1_round_trips: cost.d1.roundTrips,
    graph_round_trips: cost.graphRoundTrips,
    d1_statements: cost.d1.statements,
    d1_rows_read: cost.d1.rowsRead,
    d1_rows_written: cost.d1.rowsWritten,
    graph_requests: cost.graphRequests,
    wall_ms: cost.wallMs,
  };
  console.log(`BENCH ${JSON.stringify(line)}`);
}

it("sign-in callback", async () => {
  await resetDemoWorld();
  await report("linked", "microsoft", entraUser("adele").oid);
  await report("invitation", "google", googleAccount("pat").sub);
  // A member a SCIM push provisioned, linked at first sign-in (src/signin/scimLink.ts).
  const scimToken = await makeScimToken(DEMO_ORGS.contoso.id);
  await pushUser(scimToken, { userName: "m.bowen@contoso.example", displayName: "Megan Bowen", objectId: entraUser("megan").oid });
  await pushUser(scimToken, { userName: "irvin@contoso.example", displayName: "Irvin Sayers" });
  await report("scim_link_object_id", "microsoft", entraUser("megan").oid);
  await report("scim_link_google_hd", "google", googleAccount("irvin").sub);
  await resetDemoWorld();

  await connectContoso(["auto-provision", "group-role-mapping"]);
  await mapGroup(GROUP_IDS.uniassetAdmins, "UniAsset Admins", "admin");
  await mapGroup(GROUP_IDS.uniassetManagers, "UniAsset Managers", "manager");
  await report("autoprovision_mapping", "microsoft", entraUser("megan").oid);
  await report("linked_mapping", "microsoft", entraUser("megan").oid);

  // The sync scope (issue 20) "Only members of UniAsset Managers": Alex is outside it and refused
  // (403, audited) with his groups read in the same $batch as his user.
  await env.DB.batch([
    env.DB.prepare("insert or replace into sync_scopes (organization_id, mode, updated_at) values (?, 'groups', 1)").bind(
      DEMO_ORGS.contoso.id,
    ),
    env.DB.prepare(
      "insert or replace into sync_scope_groups (organization_id, group_id, display_name) values (?, ?, 'UniAsset Managers')",
    ).bind(DEMO_ORGS.contoso.id, GROUP_IDS.uniassetManagers),
  ]);
  await report("out_of_scope", "microsoft", entraUser("alex").oid);
});
