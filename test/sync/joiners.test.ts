// People who join UniAsset while a full run is reading the directory (auto-provisioned at
// sign-in, an accepted invitation, an import) were on a page read before they were linked: the
// run never saw them, and that must not count as "absent from the directory".
import { beforeEach, describe, expect, it } from "vitest";
import { nightlyRunId } from "../../src/entra/sync/schedule.ts";
import { emulatorAdmin, emulatorStats } from "../support/emulator.ts";
import {
  CONTOSO,
  connectSyntheticTenant,
  directoryUsers,
  fireCron,
  membership,
  nextCronTime,
  resetWorld,
  until,
  waitForRun,
} from "./support.ts";
import { linkMember } from "../support/people.ts";

beforeEach(resetWorld);

describe("members linked during a full run", () => {
  it("someone linked after their page was read stays active; a member linked before the run still goes", { timeout: 60_000 }, async () => {
    const { tenantId } = await connectSyntheticTenant(2500);
    const users = await directoryUsers(tenantId);
    // On page 1 of the listing (999 a page, same order as the run reads it).
    const joiner = users.slice(0, 999).find((u) => u.accountEnabled)!;
    // A member linked long ago to an object id that is not in the directory: truly absent.
    const { userId: ghost } = await linkMember({ issuer: tenantId, subject: crypto.randomUUID(), name: "Ghost" });
    // Page 2 answers only after a while: the run has read page 1 and waits for it.
    await emulatorAdmin("faults", { endpoint: "users", delayMs: 2000, afterRequests: 1 });

    const at = nextCronTime();
    await fireCron(at);
    await until(async () => ((await emulatorStats()).requests.users ?? 0) >= 2);
    const { userId: joinerId } = await linkMember({ issuer: tenantId, subject: joiner.id, name: "Joiner" }, { createdAt: Date.now() });

    const run = await waitForRun(nightlyRunId(CONTOSO, at));
    expect(run).toMatchObject({ status: "succeeded", mode: "full", users_read: 2500, deactivated: 1 });
    expect(await membership(joinerId)).toMatchObject({ status: "active", deactivated_by_run: null });
    expect(await membership(ghost)).toMatchObject({ status: "deactivated", deactivated_by_run: run.id });
  });
});
