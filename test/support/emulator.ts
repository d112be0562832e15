// The one client for the emulator's admin API (/_emulator/*, JSON in, JSON out): reset, faults,
// tampering, directory changes and request counts. Through the EMULATOR service binding, the same
// Worker (and state) the app's outbound fetches reach.
import { env } from "cloudflare:test";

export const EMULATOR = "http://localhost:8788";

/**
 * Calls `/_emulator/<path>` and returns the emulator's JSON answer. Any answer but 2xx throws with
 * its status and body, so a mistyped fault or an unknown user fails the test where it was set up.
 */
export async function emulatorAdmin<T = Record<string, unknown>>(
  path: string,
  body?: unknown,
  method: "POST" | "GET" | "DELETE" = "POST",
): Promise<T> {
  const response = await env.EMULATOR.fetch(`${EMULATOR}/_emulator/${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`emulator ${method} ${path} failed: ${response.status} ${await response.text()}`);
  return response.json<T>();
}

/** Back to the demo directory: no faults, tampering, extra users, grants or counts. */
export async function resetEmulator(): Promise<void> {
  await emulatorAdmin("reset");
}

export interface EmulatorStats {
  /** Requests answered per endpoint since the last reset of the counts. */
  requests: Record<string, number>;
  /** Of those, the ones sent with low priority (background work, not a waiting person). */
  lowPriority: Record<string, number>;
}

/** Requests the emulator has answered since its counts were last reset. */
export async function emulatorStats(): Promise<EmulatorStats> {
  return emulatorAdmin<EmulatorStats>("stats", undefined, "GET");
}
