// Applies a run's decisions to the organization's members (deactivates leavers, reactivates
// returners): set-based statements over chunks of 2,000 user ids (from memory, or read from a
// saved list), so 10 or 50,000 leavers cost a handful of D1 round trips, no statement runs long on
// the single-writer database, and only the rows that change are written. Owners go one at a
// time: the last one stays.
import type { SQL } from "drizzle-orm";
import type { Db } from "../../db/client.ts";
import { runStatements } from "../../db/statements.ts";
import type { SyncCause } from "../../db/schema.ts";
import {
  changeListFromJson,
  deactivateListedMembers,
  deactivateOwnerStatements,
  listListedOwners,
  listSavedChanges,
  reactivateListedMembers,
} from "../../db/syncMembers.ts";
import type { DirectoryChanges } from "./planDirectoryChanges.ts";

/** Ids per statement: a JSON parameter of ~2,000 pairs stays well under D1's limits. */
const CHANGE_CHUNK = 2000;

export function chunks<T>(items: readonly T[], size = CHANGE_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

interface ApplyTarget {
  organizationId: string;
  runId: string;
  now: number;
}

/** Applies a plan held in memory (leavers deactivated, returners reactivated); returns how many were reactivated. */
export async function applyDirectoryChanges(db: Db, target: ApplyTarget, changes: DirectoryChanges): Promise<{ reactivated: number }> {
  for (const chunk of chunks(changes.deactivate)) await applyDeactivations(db, target, changeListFromJson(chunk));
  let reactivated = 0;
  for (const chunk of chunks(changes.reactivate)) reactivated += await applyReactivations(db, target, changeListFromJson(chunk));
  return { reactivated };
}

/** Applies a run's saved list (Apply on the page, or a run with too many changes to keep in memory). */
export async function applySavedChanges(db: Db, target: ApplyTarget): Promise<{ reactivated: number }> {
  for await (const chunk of savedChunks(db, target.runId, "deactivate")) await applyDeactivations(db, target, changeListFromJson(chunk));
  let reactivated = 0;
  for await (const chunk of savedChunks(db, target.runId, "reactivate"))
    reactivated += await applyReactivations(db, target, changeListFromJson(chunk));
  return { reactivated };
}

async function* savedChunks(db: Db, runId: string, change: "deactivate" | "reactivate") {
  for (let after = ""; ; ) {
    const chunk = await listSavedChanges(db, { runId, change, afterUserId: after, limit: CHANGE_CHUNK });
    if (chunk.length > 0) yield chunk;
    const last = chunk.at(-1);
    if (!last || chunk.length < CHANGE_CHUNK) return;
    after = last[0];
  }
}

async function applyDeactivations(db: Db, target: ApplyTarget, list: SQL) {
  await runStatements(db, deactivateListedMembers(db, { ...target, list }));
  const owners = await listListedOwners(db, target.organizationId, list);
  for (const owner of owners) {
    await runStatements(db, deactivateOwnerStatements(db, { ...target, userId: owner.user_id, cause: owner.cause as SyncCause }));
  }
}

async function applyReactivations(db: Db, target: ApplyTarget, list: SQL): Promise<number> {
  // The UPDATE is the batch's last statement. Counted from the rows it returns: D1's meta.changes
  // also counts the rows its triggers change.
  const updated = (await runStatements(db, reactivateListedMembers(db, { ...target, list }))).at(-1);
  return updated?.results.length ?? 0;
}
