// The sign-in callback's cost (printed, not asserted): D1 round trips, statements and rows, and
// Graph requests, for the ways a person gets in. The callback runs through the real app with its
// D1 binding wrapped by the same counter the sync uses; the OAuth round trip before it is not
// measured.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { it } from "vitest";
import { GROUP_IDS, entraUser, googleAccount } from "../demo/directory.ts";
import { buildApp } from "../src/app.tsx";
import { countingD1, emptyD1Stats } from "../src/entra/sync/d1Stats.ts";
import { TestBrowser } from "../test/support/browser.ts";
import { emulatorAdmin, emulatorStats } from "../test/support/emulator.ts";
import { mapGroup } from "../test/support/directory.ts";
import { connectContoso } from "../test/support/entra.ts";
import { resetDemoWorld } from "../test/support/world.ts";

const app = buildApp();

async function measureCallback(name: string, provider: "microsoft" | "google", account: string) {
  const browser = new TestBrowser();
  const start = await browser.get(`/auth/${provider}`);
  const back = await browser.authorizeAtEmulator(start, { account });
  const callback = back.headers.get("location")!;
  await emulatorAdmin("stats/reset");
  const d1 = emptyD1Stats();
  const ctx = createExecutionContext();
  const started = Date.now();
  const response = await app.fetch(
    new Request(callback, { headers: { cookie: browser.cookieHeader() } }),
    { ...env, DB: countingD1(env.DB, d1) },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const wallMs = Date.now() - started;
  const stats = await emulatorStats();
  const graphRequests = Object.entries(stats.requests)
    .filter(([endpoint]) => !["token", "keys", "google-token", "google-keys"].includes(endpoint))
    .reduce((sum, [, n]) => sum + n, 0);
  const line = {
    scenario: "sign_in_callback", case: name, status: response.status,
    d1_round_trips: d1.roundTrips, d1_statements: d1.statements, d1_rows_read: d1.rowsRead, d1_rows_written: d1.rowsWritten,
    graph_requests: graphRequests, wall_ms: wallMs,
  };
  console.log(`BENCH ${JSON.stringify(line)}`);
}

it("sign-in callback", async () => {
  await resetDemoWorld();
  await measureCallback("linked_identity", "microsoft", entraUser("adele").oid);
  await measureCallback("google_invitation", "google", googleAccount("pat").sub);

  await connectContoso(["auto-provision", "group-role-mapping"]);
  await mapGroup(GROUP_IDS.uniassetAdmins, "UniAsset Admins", "admin");
  await mapGroup(GROUP_IDS.uniassetManagers, "UniAsset Managers", "manager");
  await measureCallback("auto_provision_with_group_mapping", "microsoft", entraUser("megan").oid);
  await measureCallback("linked_with_group_mapping", "microsoft", entraUser("megan").oid);
});
