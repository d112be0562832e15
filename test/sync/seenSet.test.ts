// Who a full listing saw, as sorted 64-bit hashes (src/entra/sync/seenSet.ts): the conclude step
// decides absence from these, so each answer must be exact apart from hash collisions.
import { describe, expect, it } from "vitest";
import { combinedState, encodeSeenPage, oidHash, SeenSet } from "../../src/entra/sync/seenSet.ts";

const oid = (i: number) => `00000000-5e00-4000-8000-${i.toString(16).padStart(12, "0")}`;

describe("seen set", () => {
  it("answers enabled, disabled, unknown and absent across pages stored in any order", () => {
    const pages = [
      encodeSeenPage(
        Array.from({ length: 999 }, (_, i) => ({ oid: oid(i), state: i % 100 === 99 ? ("disabled" as const) : ("enabled" as const) })),
      ),
      encodeSeenPage([
        { oid: oid(5000), state: "unknown" },
        { oid: oid(5001).toUpperCase(), state: "disabled" },
      ]),
    ];
    expect(pages[0]!.users).toBe(999);
    expect(pages[1]!.users).toBe(3); // an unknown state is stored as both
    const seen = new SeenSet(10); // grows as pages come in
    for (const page of [...pages].reverse()) seen.addPage(page.hashes);
    seen.seal();
    expect(seen.count).toBe(1002);
    expect(seen.stateOf(oid(0))).toBe("enabled");
    expect(seen.stateOf(oid(99))).toBe("disabled");
    expect(seen.stateOf(oid(998))).toBe("enabled");
    expect(seen.stateOf(oid(5000))).toBe("unknown");
    expect(seen.stateOf(oid(5001))).toBe("disabled");
    expect(seen.stateOf(oid(999))).toBe("absent");
    expect(seen.stateOf(crypto.randomUUID())).toBe("absent");
  });

  it("an empty listing sees nobody", () => {
    const seen = new SeenSet(0);
    seen.addPage(encodeSeenPage([]).hashes);
    seen.seal();
    expect(seen.stateOf(oid(1))).toBe("absent");
  });

  it("hashes 100k ids without a collision, case-insensitively", () => {
    const keys = new Set<string>();
    for (let i = 0; i < 100_000; i++) keys.add(oidHash(oid(i)).join(":"));
    expect(keys.size).toBe(100_000);
    expect(oidHash(oid(7).toUpperCase())).toEqual(oidHash(oid(7)));
  });

  it("a member with several object ids: unknown, then enabled, then disabled decide", () => {
    expect(combinedState(["absent", "disabled"])).toBe("disabled");
    expect(combinedState(["disabled", "enabled"])).toBe("enabled");
    expect(combinedState(["enabled", "unknown"])).toBe("unknown");
    expect(combinedState(["absent"])).toBe("absent");
  });
});
