// Issue 18, defect 5: stopping `npm start` after connecting Contoso with Auto-deprovision on and
// starting it again left the Entra page "Connected" while Sync now ended in "Needs reconnect": the
// emulator forgot the grant, the app did not. The emulator now keeps Microsoft's state in its
// Durable Object's storage; POST /_emulator/restart drops its memory and reloads that storage, as
// a restarted `npm start` does (test/e2e/restart.test.ts restarts the real processes).
import { env } from "cloudflare:test";
import { beforeEach, expect, it } from "vitest";
import { entraUser } from "../../demo/directory.ts";
import { emulatorAdmin } from "../support/emulator.ts";
import { connectContoso } from "../support/entra.ts";
import { CONTOSO, DEMO_USER_IDS, SYNC, latestRunId, membership, resetWorld, sectionWhenIdle, waitForRun } from "./support.ts";

beforeEach(resetWorld);

it("after the emulator restarts, Sync now reads with the same grant and delta link and sees changes made before", async () => {
  const adele = await connectContoso(["auto-deprovision"]);
  await adele.post(`${SYNC}/run`, {}, { htmx: true });
  expect(await waitForRun(await latestRunId())).toMatchObject({ status: "succeeded", mode: "full", deactivated: 1 });
  expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("deactivated");

  // Diego is enabled again in Entra ID, then the emulator restarts.
  await emulatorAdmin(`users/${entraUser("diego").oid}/enable`);
  await emulatorAdmin("restart");
  // A restart forgets the test's instruments: hold real-time reads back again, as resetWorld does.
  await emulatorAdmin("notifications", { drop: 1_000_000_000 });

  await adele.post(`${SYNC}/run`, {}, { htmx: true });
  expect(await waitForRun(await latestRunId())).toMatchObject({ status: "succeeded", mode: "delta", reactivated: 1, error: null });
  expect((await membership(DEMO_USER_IDS.diego))?.status).toBe("active");
  const section = await sectionWhenIdle(adele);
  expect(section).not.toContain("Needs reconnect");
  const connection = await env.DB.prepare("select status from entra_connections where organization_id = ?")
    .bind(CONTOSO)
    .first<{ status: string }>();
  expect(connection?.status).toBe("connected");
});
