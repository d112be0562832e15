// A delta round may list the same user more than once and in no promised order
// (https://learn.microsoft.com/graph/delta-query-overview): the last occurrence in the round wins,
// and nobody is deactivated on a delta round's word alone: each leaver is read directly first, in
// JSON batches (https://learn.microsoft.com/graph/json-batching).
// The emulator lists each changed user once, oldest change first; the changes here are made in a
// known order (disabled then enabled again, disabled, deleted) so the outcome is fixed.
import { beforeEach, describe, expect, it } from "vitest";
import { applyConfirmations, leaversToConfirm, mergeObservations, type Observed } from "../../src/entra/sync/planDirectoryChanges.ts";
import { connectContoso } from "../support/entra.ts";
import { emulatorAdmin, createDirectoryUser } from "../support/emulator.ts";
import { membership, nightlyRun, resetWorld } from "./support.ts";
import { linkMember } from "../support/people.ts";

beforeEach(resetWorld);

describe("a delta round's repeats and order", () => {
  it("the last occurrence wins across pages; an entry without accountEnabled does not undo an earlier one", () => {
    const observed = new Map<string, Observed>();
    mergeObservations(observed, [
      ["u1", "disabled", "active", "o1"],
      ["u2", "enabled", "sync", "o2"],
    ]);
    mergeObservations(observed, [
      ["u1", "enabled", "active", "o1"],
      ["u2", "disabled", "sync", "o2"],
      ["u2", "unchanged", "sync", "o2"],
    ]);
    expect(observed.get("u1")?.state).toBe("enabled");
    expect(observed.get("u2")?.state).toBe("disabled");
    expect(leaversToConfirm(observed)).toEqual([]);
  });

  it("a leaver's direct read decides: enabled stays, disabled and deleted go", () => {
    const observed = new Map<string, Observed>([
      ["u1", { state: "disabled", standing: "active", oid: "o1" }],
      ["u2", { state: "deleted", standing: "active", oid: "o2" }],
      ["u3", { state: "disabled", standing: "active", oid: "o3" }],
    ]);
    expect(leaversToConfirm(observed)).toEqual(["o1", "o2", "o3"]);
    applyConfirmations(observed, [
      ["o1", "enabled"],
      ["o2", "deleted"],
      ["o3", "disabled"],
    ]);
    expect([...observed.values()].map((o) => o.state)).toEqual(["enabled", "deleted", "disabled"]);
  });

  it("a delta run confirms its leavers with one JSON batch before deactivating them", { timeout: 30_000 }, async () => {
    await connectContoso(["auto-deprovision"]);
    expect((await nightlyRun()).mode).toBe("full");
    const back = await linkMember(await createDirectoryUser("Back Again"));
    const disabled = await linkMember(await createDirectoryUser("Really Disabled"));
    const deleted = await linkMember(await createDirectoryUser("Really Deleted"));
    await emulatorAdmin(`users/${back.subject}/disable`);
    await emulatorAdmin(`users/${disabled.subject}/disable`);
    await emulatorAdmin(`users/${back.subject}/enable`);
    await emulatorAdmin(`users/${deleted.subject}/delete`);
    const run = await nightlyRun();
    expect(run).toMatchObject({ status: "succeeded", mode: "delta", deactivated: 2, reactivated: 0 });
    expect(run.graph_requests).toBe(2); // the delta page, then one $batch confirming both leavers
    expect((await membership(back.userId))?.status).toBe("active");
    expect((await membership(disabled.userId))?.status).toBe("deactivated");
    expect((await membership(deleted.userId))?.status).toBe("deactivated");
  });

  it("with the emulator shuffling and repeating delta entries, the outcome is the same", { timeout: 30_000 }, async () => {
    await connectContoso(["auto-deprovision"]);
    expect((await nightlyRun()).mode).toBe("full");
    const members = await Promise.all(
      ["Back Again", "Really Disabled", "Really Deleted", "Untouched"].map(async (name) => linkMember(await createDirectoryUser(name))),
    );
    const [back, disabled, deleted] = members;
    await emulatorAdmin("delta/disorder", { shuffle: true, repeat: true });
    await emulatorAdmin(`users/${back!.subject}/disable`);
    await emulatorAdmin(`users/${disabled!.subject}/disable`);
    await emulatorAdmin(`users/${back!.subject}/enable`);
    await emulatorAdmin(`users/${deleted!.subject}/delete`);
    const run = await nightlyRun();
    expect(run).toMatchObject({ status: "succeeded", mode: "delta", deactivated: 2, reactivated: 0 });
    expect((await membership(back!.userId))?.status).toBe("active");
    expect((await membership(disabled!.userId))?.status).toBe("deactivated");
    expect((await membership(deleted!.userId))?.status).toBe("deactivated");
    expect((await membership(members[3]!.userId))?.status).toBe("active");
  });
});
