// No notification is lost, the delta read's moments (the invariant at the top of
// src/entra/realtime/reread.ts; the first full read's are in races.test.ts): a leaver notified
// during the coalescing wait, the listing, the judging, or at any moment of several reads, is
// deactivated by a read that starts after the change.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { connectContoso } from "../support/entra.ts";
import { createDirectoryUser, emulatorAdmin } from "../support/emulator.ts";
import { linkMember } from "../support/people.ts";
import { CONTOSO, nightlyRun, until } from "../sync/support.ts";
import { deactivated, requestsTo, runGoing, slowDown } from "./raceSupport.ts";
import { GATHER_MS, notificationRuns, realtimeWorld, runsSettled } from "./support.ts";

beforeEach(realtimeWorld);

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

  // 0.3 of the burst wait apart (600 ms at production's 2 s): a few leavers land in each read's wait,
  // others during its listing, judging and final writes.
  const apart = GATHER_MS * 0.3;
  it(`at any moment: ten leavers ${apart} ms apart, across several reads and their final writes, every one deactivated`, {
    timeout: 90_000,
  }, async () => {
    await world();
    const leavers: { userId: string; subject: string }[] = [];
    for (let i = 0; i < 10; i++) leavers.push(await linkMember(await createDirectoryUser(`Stream ${i}`)));
    for (const leaver of leavers) {
      await emulatorAdmin(`users/${leaver.subject}/disable`);
      await new Promise((resolve) => setTimeout(resolve, apart));
    }
    await until(async () => {
      for (const leaver of leavers) if (!(await deactivated(leaver.userId))) return false;
      return true;
    }, 60_000);
    await runsSettled();
  });
});
