// Who a full sync run has seen, one row per Graph page (migrations/0009): written by the page's
// Workflow step, read once by the run's conclude step, deleted when the run closes. The hashes
// are opaque here (src/entra/sync/seenSet.ts makes and reads them).
import { sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { statement } from "./statements.ts";

/** Stores a page's hashes; a retried step writes the same row again. */
export function saveSeenPage(db: Db, page: { runId: string; attempt: number; page: number; users: number; hashes: string }) {
  return db.run(sql`
    insert or replace into sync_run_seen (run_id, attempt, page, users, hashes)
    values (${page.runId}, ${page.attempt}, ${page.page}, ${page.users}, ${page.hashes})`);
}

/** How many hashes the listing stored: the size of the set to allocate. */
export async function countSeenHashes(db: Db, runId: string, attempt: number): Promise<number> {
  const [row] = await db.all<{ n: number | null }>(sql`
    select sum(users) as n from sync_run_seen where run_id = ${runId} and attempt = ${attempt}`);
  return row?.n ?? 0;
}

/** Pages after `afterPage`, `limit` at a time (about 11 KB each), so no read holds them all. */
export function listSeenPages(db: Db, page: { runId: string; attempt: number; afterPage: number; limit: number }) {
  return db.all<{ page: number; hashes: string }>(sql`
    select page, hashes from sync_run_seen
    where run_id = ${page.runId} and attempt = ${page.attempt} and page > ${page.afterPage}
    order by page limit ${page.limit}`);
}

/** The run is closed: its pages are of no more use. */
export function deleteSeenPages(db: Db, runId: string) {
  return statement(db, sql`delete from sync_run_seen where run_id = ${runId}`);
}
