// The one client for the emulator's admin API (/_emulator/*, JSON in, JSON out): reset, faults,
// tampering, directory changes and request counts. Through the EMULATOR service binding, the same
// Worker (and state) the app's outbound fetches reach.
import { env } from "cloudflare:test";
import { CONTOSO_TENANT_ID } from "../../demo/directory.ts";
import type { Identity } from "./people.ts";

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
  /** Of those, the ones that came inside a JSON $batch (absent until one did). */
  batched?: Record<string, number>;
}

/** Requests the emulator has answered since its counts were last reset. */
export async function emulatorStats(): Promise<EmulatorStats> {
  return emulatorAdmin<EmulatorStats>("stats", undefined, "GET");
}

/**
 * A new user in the emulator's directory (Contoso's unless `tenantId` says otherwise), enabled unless
 * told; returns the identity they sign in with, ready for linkMember.
 */
export async function createDirectoryUser(name: string, options: { tenantId?: string; accountEnabled?: boolean } = {}): Promise<Identity> {
  const tenantId = options.tenantId ?? CONTOSO_TENANT_ID;
  const upn = `${name}@contoso.example`;
  const { oid } = await emulatorAdmin<{ oid: string }>("users", {
    tenantId,
    displayName: name,
    userPrincipalName: upn,
    mail: upn,
    accountEnabled: options.accountEnabled ?? true,
    // The tests' worlds are built before the change they test: no real-time read for each person made.
    notify: false,
  });
  return { issuer: tenantId, subject: oid, name, email: upn };
}
