// No notification is lost (the invariant at the top of src/entra/realtime/reread.ts): a change
// notified at any moment of a read, the first full read included, is reflected by a read that
// starts after it. Each case holds a read at one point with a slow Graph endpoint (the emulator's
// fault delay) and changes the directory there. The delta read's moments are in
// deltaReadRaces.test.ts (a file of their own so that the two halves run side by side).
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { entraUser } from "../../demo/directory.ts";
import { createDb } from "../../src/db/client.ts";
import { insertRunUnlessRunning } from "../../src/db/syncRuns.ts";
import { noteChange, startNotedRead, startPendingReread } from "../../src/entra/realtime/reread.ts";
import { recordRunOutcome } from "../../src/entra/sync/recordRun.ts";
import { connectContoso } from "../support/entra.ts";
import { emulatorAdmin } from "../support/emulator.ts";
import { signedIn } from "../support/people.ts";
import { CONTOSO, membership, until } from "../sync/support.ts";
import { deactivated, requestsTo, runGoing, sessionsOf, slowDown, userIdOf } from "./raceSupport.ts";
import { graphSubscriptions, notificationFor, notificationRuns, postToWebhook, realtimeWorld, runsSettled } from "./support.ts";

beforeEach(realtimeWorld);

describe("a member provisioned while the first (full) read runs", () => {
  it("Megan signs in and is disabled before the read takes its starting point: the read deactivates her, sessions ended", {
    timeout: 60_000,
  }, async () => {
    await connectContoso(["auto-provision", "auto-deprovision"]);
    // Graph is slow to hand the first read its starting point (the delta link for "now"): Megan
    // joins and leaves after the read was recorded but before it began listing.
    await slowDown("delta", 3_000);
    const megan = entraUser("megan").oid;
    await emulatorAdmin(`users/${megan}/enable`);
    await runGoing();
    await signedIn("megan");
    const userId = await userIdOf(megan);
    expect((await membership(userId))?.status).toBe("active");
    expect(await sessionsOf(userId)).toBe(1);
    await emulatorAdmin(`users/${megan}/disable`);

    await until(() => deactivated(userId), 45_000);
    expect(await sessionsOf(userId)).toBe(0);
    await runsSettled();
  });

  it("Megan signs in and is disabled during the listing: one more read deactivates her", { timeout: 60_000 }, async () => {
    await connectContoso(["auto-provision", "auto-deprovision"]);
    await emulatorAdmin("stats/reset");
    await slowDown("users", 3_000);
    const megan = entraUser("megan").oid;
    await emulatorAdmin(`users/${megan}/enable`);
    await until(async () => (await requestsTo("users")) >= 1);
    await signedIn("megan");
    const userId = await userIdOf(megan);
    await emulatorAdmin(`users/${megan}/disable`);

    await until(() => deactivated(userId), 45_000);
    expect(await sessionsOf(userId)).toBe(0);
    await runsSettled();
  });
});

describe("written down before it is acknowledged", () => {
  it("when Graph gets its 202, the read the notification asks for is already recorded", { timeout: 30_000 }, async () => {
    await connectContoso(["auto-deprovision"]);
    const [held] = await graphSubscriptions();
    expect((await postToWebhook("users", notificationFor(held!.id, held!.clientState))).status).toBe(202);
    // No waiting: the row was written before the answer, not after it.
    expect(await notificationRuns()).toHaveLength(1);
    await runsSettled();
  });
});

describe("a notification during a read's final write", () => {
  // D1 runs one batch at a time: a notification's batch commits just before the run's final write
  // or just after it. Both orders, played with the modules the Workflow and the webhook use.
  async function runGoingNow() {
    await connectContoso(["auto-deprovision"]);
    const db = createDb(env.DB);
    const runId = crypto.randomUUID();
    expect(await insertRunUnlessRunning(db, { id: runId, organizationId: CONTOSO, trigger: "realtime", now: Date.now() })).toBe(true);
    return { db, runId };
  }
  const finalWrite = (db: ReturnType<typeof createDb>, runId: string) =>
    recordRunOutcome(db, {
      organizationId: CONTOSO,
      runId,
      trigger: "realtime",
      status: "succeeded",
      mode: "delta",
      usersRead: 0,
      deactivated: 0,
      reactivated: 0,
      graphRequests: 1,
      error: null,
      pending: null,
      deltaLink: null,
      now: Date.now(),
    });

  it("just before it: the mark stands, and the run's end starts one more read", { timeout: 30_000 }, async () => {
    const { db, runId } = await runGoingNow();
    expect((await noteChange(db, CONTOSO, Date.now())).runId).toBeNull();
    await finalWrite(db, runId);
    const reread = await startPendingReread(db, env.SYNC_WORKFLOW, CONTOSO, Date.now());
    expect(reread.started).not.toBeNull();
    await runsSettled();
  });

  it("just after it: the notification starts its own read, and the run's end starts none beside it", { timeout: 30_000 }, async () => {
    const { db, runId } = await runGoingNow();
    await finalWrite(db, runId);
    const noted = await noteChange(db, CONTOSO, Date.now());
    expect(noted.runId).not.toBeNull();
    expect((await startPendingReread(db, env.SYNC_WORKFLOW, CONTOSO, Date.now())).started).toBeNull();
    expect((await startNotedRead(db, env.SYNC_WORKFLOW, noted)).started).toBe(noted.runId);
    await runsSettled();
  });
});
