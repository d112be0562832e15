// What the race files (races.test.ts, deltaReadRaces.test.ts) share: who is linked, their
// sessions and membership, the run going now, and the emulator's slow endpoints that hold a read at
// one point while the directory changes.
import { env } from "cloudflare:test";
import { emulatorAdmin, emulatorStats } from "../support/emulator.ts";
import { CONTOSO, membership, until } from "../sync/support.ts";

export async function userIdOf(oid: string): Promise<string> {
  const row = await env.DB.prepare("select user_id from identities where provider = 'microsoft' and subject = ?")
    .bind(oid)
    .first<{ user_id: string }>();
  if (!row) throw new Error(`nobody is linked to ${oid}`);
  return row.user_id;
}

export async function sessionsOf(userId: string): Promise<number> {
  return (await env.DB.prepare("select count(*) as n from sessions where user_id = ?").bind(userId).first<{ n: number }>())!.n;
}

export const deactivated = async (userId: string) => (await membership(userId))?.status === "deactivated";

/** The run going now, once its row exists. */
export async function runGoing(): Promise<string> {
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
export async function slowDown(endpoint: string, delayMs: number, after = 0) {
  await emulatorAdmin("faults", { endpoint, delayMs, afterRequests: after });
}
export async function requestsTo(endpoint: string) {
  return (await emulatorStats()).requests[endpoint] ?? 0;
}
