// Delta rounds as unruly as Microsoft allows (POST /_emulator/delta/disorder): Graph promises no
// order ("Do not assume a specific sequence of the responses returned from a delta query. Assume
// that the same item can show up anywhere in the @odata.nextLink sequence") and may list an entity
// more than once ("It's possible that a single entity will be contained multiple times in the
// response"), with replays of earlier changes.
// https://learn.microsoft.com/en-us/graph/delta-query-overview (Optional query parameters; Resource
// representation in the delta query response; Limitations > Replays)
// The round as a whole still ends right: the LAST occurrence of a user carries its current state;
// an earlier one may replay the user as it was before the round's changes.
import type { DirectoryUser, UserEntry } from "./directory.ts";
import { fnv1a } from "./util.ts";

export interface DisorderOptions {
  shuffle: boolean;
  repeat: boolean;
}

/** A seeded PRNG (mulberry32), so every page of one round sees the same order. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The round's entries in the order they are listed. `earlier(entry)` gives the state a replayed
 * (non-final) occurrence shows; by default the current state again.
 */
export function disorderedRound(
  entries: UserEntry[],
  options: DisorderOptions,
  seedText: string,
  earlier: (entry: UserEntry) => UserEntry = (entry) => entry,
): UserEntry[] {
  const next = random(fnv1a(seedText));
  const slots: UserEntry[] = [...entries];
  // Roughly every third user appears twice (at least one when there is anyone to repeat).
  if (options.repeat) {
    const repeated = entries.filter(() => next() < 0.34);
    if (repeated.length === 0 && entries.length > 0) repeated.push(entries[Math.floor(next() * entries.length)]!);
    slots.push(...repeated);
  }
  if (options.shuffle) {
    for (let i = slots.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [slots[i], slots[j]] = [slots[j]!, slots[i]!];
    }
  }
  // Walking back from the end, the first time a user is met is its final occurrence.
  const seen = new Set<string>();
  const out: UserEntry[] = new Array(slots.length);
  for (let i = slots.length - 1; i >= 0; i--) {
    const entry = slots[i]!;
    out[i] = seen.has(entry.user.id) ? earlier(entry) : entry;
    seen.add(entry.user.id);
  }
  return out;
}

export function activeEntry(user: DirectoryUser): UserEntry {
  return { user, deleted: false };
}
