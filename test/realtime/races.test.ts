// No notification is lost (the invariant at the top of src/entra/realtime/reread.ts): a change
// notified at any moment of a read, the first full read included, is reflected by a read that
// starts after it. Each case holds a read at one point with a slow Graph endpoint (the emulator's
// fault delay) and changes the directory there.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { entraUser } from "../../demo/directory.ts";
import { createDb } from "../../src/db/client.ts";
import { insertRunUnlessRunning } from "../../src/db/syncRuns.ts";
import { noteChange, startNotedRead, startPendingReread } from "../../src/entra/realtime/reread.ts";
import { recordRunOutcome } from "../../src/entra/sync/recordRun.ts";
import { connectContoso } from "../support/entra.ts";
import { createDirectoryUser, emulatorAdmin, emulatorStats } from "../support/emulator.ts";
import { linkMember, signedIn } from "../support/people.ts";
import { CONTOSO, membership, nightlyRun, until } from "../sync/support.ts";
import { graphSubscriptions, notificationFor, notificationRuns, postToWebhook, realtimeWorld, runsSettled } from "./support.ts";

beforeEach(realtimeWorld);

async function userIdOf(oid: string): Promise<string> {
  const row = await env.DB.prepare("select user_id from identities where provider = 'microsoft' and subject = ?")
    .bind(oid)
    .first<{ user_id: string }>();
  if (!row) throw new Error(`nobody is linked to ${oid}`);
  return row.user_id;
}

async function sessionsOf(userId: string): Promise<number> {
  return (await env.DB.prepare("select count(*) as n from sessions where user_id = ?").bind(userId).first<{ n: number }>())!.n;
}

const deactivated = async (userId: string) => (await membership(userId))?.status === "deactivated";

/** The run going now, once its row exists. */
async function runGoing(): Promise<string> {
  let id = "";
  await until(async () => {
    const row = await env.DB.prepare("select id from sync_runs where organization_id = ? and status = 'running'")
      .bind(CONTOSO)
      .first<{ id: string }>();
    id = row?.id ?? "";
    return id !== "";
  });
  return id;
}

/** Lets through `after` requests to `endpoint`, then slows the next one down by `delayMs`. */
async function slowDown(endpoint: string, delayMs: number, after = 0) {
  await emulatorAdmin("faults", { endpoint, delayMs, afterRequests: after });
}
async function requestsTo(endpoint: string) {
  return (await emulatorStats()).requests[endpoint] ?? 0;
}

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

describe("a leaver notified at any moment of a delta read", () => {
  /** Contoso connected, a first read done (the delta link stored), and two linked members who will leave. */
  async function world() {
    await connectContoso(["auto-deprovision"]);
    const first = await linkMember(await createDirectoryUser("First Leaver"));
    const second = await linkMember(await createDirectoryUser("Second Leaver"));
    // Room for two leavers under the hold threshold.
    await env.DB.prepare(
      "update entra_connections set hold_threshold_percent = 100, hold_threshold_minimum = 1000 where organization_id = ?",
    )
      .bind(CONTOSO)
      .run();
    await emulatorAdmin("notifications", { drop: 1_000_000_000 });
    expect((await nightlyRun()).mode).toBe("full");
    await emulatorAdmin("notifications", { drop: 0 });
    await emulatorAdmin("stats/reset");
    return { first, second };
  }

  it("during the coalescing wait: the read that follows covers it", { timeout: 60_000 }, async () => {
    const { first, second } = await world();
    await emulatorAdmin(`users/${first.subject}/disable`);
    await runGoing();
    expect(await requestsTo("delta")).toBe(0);
    await emulatorAdmin(`users/${second.subject}/disable`);
    await until(async () => (await deactivated(first.userId)) && (await deactivated(second.userId)), 45_000);
    await runsSettled();
  });

  it("during the listing: one more read covers it", { timeout: 60_000 }, async () => {
    const { first, second } = await world();
    await slowDown("delta", 3_000);
    await emulatorAdmin(`users/${first.subject}/disable`);
    await until(async () => (await requestsTo("delta")) >= 1);
    await emulatorAdmin(`users/${second.subject}/disable`);
    await until(async () => (await deactivated(first.userId)) && (await deactivated(second.userId)), 45_000);
    await runsSettled();
    expect((await notificationRuns()).length).toBe(2);
  });

  it("between the listing and the judging (while the leavers are confirmed): one more read covers it", { timeout: 60_000 }, async () => {
    const { first, second } = await world();
    await slowDown("batch", 3_000);
    await emulatorAdmin(`users/${first.subject}/disable`);
    await until(async () => (await requestsTo("batch")) >= 1);
    await emulatorAdmin(`users/${second.subject}/disable`);
    await until(async () => (await deactivated(first.userId)) && (await deactivated(second.userId)), 45_000);
    await runsSettled();
    expect((await notificationRuns()).length).toBe(2);
  });

  it("at any moment: ten leavers 600 ms apart, across several reads and their final writes, every one deactivated", {
    timeout: 90_000,
  }, async () => {
    await world();
    const leavers: { userId: string; subject: string }[] = [];
    for (let i = 0; i < 10; i++) leavers.push(await linkMember(await createDirectoryUser(`Stream ${i}`)));
    for (const leaver of leavers) {
      await emulatorAdmin(`users/${leaver.subject}/disable`);
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    await until(async () => {
      for (const leaver of leavers) if (!(await deactivated(leaver.userId))) return false;
      return true;
    }, 60_000);
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
