// Who a full listing has seen, in 8 bytes a user: each Entra object id as a 64-bit hash whose
// lowest bit says whether the account is enabled. A page step stores its page's hashes, sorted,
// in D1 (sync_run_seen); the conclude step loads them into one sorted array and looks each linked
// member up by binary search. 1M users cost 8 MB, where a map of observations cost about 120 MB.
//
// A hash can collide: two object ids with the same 63 bits. For one member that means "seen" when
// absent (they stay active one more night: the safe side), or two states for one hash, which
// reads as "unknown" and changes nothing. With 1M users the chance of any collision in a run is
// about 1M² / 2⁶⁴ ≈ 5·10⁻⁸.
import { decodeBase64, encodeBase64 } from "@oslojs/encoding";

/** What a full listing says about one object id. `unknown`: seen, but not whether it is enabled. */
type SeenState = "enabled" | "disabled" | "absent" | "unknown";

/** A listed user's state on a full listing page: "unknown" when Graph left accountEnabled out. */
type ListedState = "enabled" | "disabled" | "unknown";

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Two 32-bit lanes of a cyrb53-style hash over the lower-cased id: [high, low]. */
export function oidHash(oid: string): [number, number] {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  const id = oid.toLowerCase();
  for (let i = 0; i < id.length; i++) {
    const ch = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h2 >>> 0, h1 >>> 0];
}

/**
 * A page's users as sorted hashes, base64. A user whose state is unknown is stored twice (enabled
 * and disabled), which reads back as "unknown": seen, so never absent, and never acted on.
 */
export function encodeSeenPage(users: readonly { oid: string; state: ListedState }[]): { users: number; hashes: string } {
  if (!LITTLE_ENDIAN) throw new Error("seen sets assume a little-endian platform");
  const entries = users.reduce((n, user) => n + (user.state === "unknown" ? 2 : 1), 0);
  const values = new BigUint64Array(entries);
  const words = new Uint32Array(values.buffer);
  let at = 0;
  for (const { oid, state } of users) {
    const [high, low] = oidHash(oid);
    for (const flag of state === "unknown" ? [0, 1] : [state === "enabled" ? 1 : 0]) {
      words[2 * at] = ((low & ~1) | flag) >>> 0;
      words[2 * at + 1] = high;
      at++;
    }
  }
  values.sort();
  return { users: entries, hashes: encodeBase64(new Uint8Array(values.buffer)) };
}

/** Every page of one listing, loaded and sorted once; then one binary search per member. */
export class SeenSet {
  private values: BigUint64Array;
  private words: Uint32Array;
  private size = 0;

  constructor(capacity: number) {
    this.values = new BigUint64Array(Math.max(capacity, 1));
    this.words = new Uint32Array(this.values.buffer);
  }

  get count(): number {
    return this.size;
  }

  /** Adds one stored page (any order); call `seal` once all are in. */
  addPage(hashes: string) {
    const bytes = decodeBase64(hashes);
    const entries = bytes.byteLength / 8;
    if (this.size + entries > this.values.length) {
      const grown = new BigUint64Array(Math.max(this.values.length * 2, this.size + entries));
      grown.set(this.values.subarray(0, this.size));
      this.values = grown;
      this.words = new Uint32Array(grown.buffer);
    }
    new Uint8Array(this.values.buffer, this.size * 8, bytes.byteLength).set(bytes);
    this.size += entries;
  }

  seal() {
    this.values.subarray(0, this.size).sort();
  }

  stateOf(oid: string): SeenState {
    const [high, low] = oidHash(oid);
    const base = (low & ~1) >>> 0;
    const words = this.words;
    // First entry not below (high, base): the entries of this hash follow it.
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const h = words[2 * mid + 1]!;
      if (h < high || (h === high && words[2 * mid]! < base)) lo = mid + 1;
      else hi = mid;
    }
    let enabled = false;
    let disabled = false;
    for (let i = lo; i < this.size && words[2 * i + 1] === high && (words[2 * i]! & ~1) >>> 0 === base; i++) {
      if (words[2 * i]! & 1) enabled = true;
      else disabled = true;
    }
    return enabled && disabled ? "unknown" : enabled ? "enabled" : disabled ? "disabled" : "absent";
  }
}

/** A member with several object ids in the tenant: unknown wins, then enabled, then disabled. */
export function combinedState(states: readonly SeenState[]): SeenState {
  if (states.includes("unknown")) return "unknown";
  if (states.includes("enabled")) return "enabled";
  if (states.includes("disabled")) return "disabled";
  return "absent";
}
