// Single use of an OAuth round trip. The round trip itself lives in a sealed cookie (src/auth/flows.ts);
// D1 learns of it only when its callback writes: the SHA-256 of its `state` goes in, and a second
// insert of the same hash breaks the primary key, so a replayed callback's whole batch fails.
import { eq, sql, type SQL } from "drizzle-orm";
import type { Db } from "./client.ts";
import { usedFlowStates } from "./schema.ts";

/**
 * The write that marks a round trip used. With `premise`, the row is written only if the premise
 * still holds when the batch runs on the primary: otherwise `expires_at` is NULL, the NOT NULL
 * constraint fails and the whole batch rolls back (the caller reads again from the primary).
 */
export function claimFlowState(stateHash: string, expiresAt: number, premise?: SQL): SQL {
  const expires = premise ? sql`case when ${premise} then ${expiresAt} else null end` : sql`${expiresAt}`;
  return sql`insert into ${usedFlowStates} (state_hash, expires_at) values (${stateHash}, ${expires})`;
}

/** Whether a state's round trip was used (asked only when the provider refused its code). */
export async function flowStateWasUsed(db: Db, stateHash: string): Promise<boolean> {
  const [row] = await db
    .select({ stateHash: usedFlowStates.stateHash })
    .from(usedFlowStates)
    .where(eq(usedFlowStates.stateHash, stateHash))
    .limit(1);
  return !!row;
}

/** The round trip was used before: a replayed callback. */
export function isReplayedFlowState(error: unknown): boolean {
  return errorText(error).includes("UNIQUE constraint failed: used_flow_states.");
}

/** The claim's premise no longer held on the primary (see claimFlowState). */
export function isStalePremise(error: unknown): boolean {
  return errorText(error).includes("NOT NULL constraint failed: used_flow_states.expires_at");
}

function errorText(error: unknown): string {
  return `${String(error)} ${String((error as { cause?: unknown })?.cause ?? "")}`;
}
