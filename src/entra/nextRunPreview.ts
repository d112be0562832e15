// The mapping page's "Preview the next run": who the next nightly run or Sync now would move after
// the mapping edits waiting for it, from what to what and why. The very functions the run uses
// (src/entra/sync/remap.ts), with an id of its own and mode "preview": it writes only the scratch
// it clears before answering, never a role, a held list or the mapping's version.
import { sql } from "drizzle-orm";
import { roleRank } from "../auth/access.ts";
import type { Db } from "../db/client.ts";
import { findConnectionSummary } from "../db/connections.ts";
import type { MappableRole } from "../db/schema.ts";
import type { Config } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";
import { exceedsHoldThreshold } from "./sync/planDirectoryChanges.ts";
import { GRAPH_BUDGETS } from "./graph.ts";
import {
  PREVIEW_LIST_CAP,
  clearRemapScratch,
  decideMembers,
  planRemap,
  readMappedGroups,
  type ReadCursor,
  type RemapRun,
} from "./sync/remap.ts";

/** Steps of PAGES_PER_STEP Graph pages a page request may take: beyond, the tenant is too large to preview here. */
const MAX_READ_STEPS = 5;
/** Decide slices a page request may take (each reads up to 800,000 members). */
const MAX_DECIDE_STEPS = 2;

export interface NextRunChange {
  displayName: string;
  from: MappableRole;
  to: MappableRole;
  /** The mapped group that decides the new role; null: the default role. */
  becauseOf: string | null;
}

export type NextRunPreview =
  | { state: "nothing_pending" | "mapping_off" | "too_large" | "graph_failed" }
  | { state: "ready"; changes: NextRunChange[]; total: number; lowered: number; held: boolean };

export async function previewNextRun(db: Db, config: Config, organizationId: string): Promise<NextRunPreview> {
  const connection = await findConnectionSummary(db, organizationId);
  if (connection?.status !== "connected" || !connection.tenantId)
    throw new AppError("conflict", "Connect Entra ID before mapping groups to roles.");
  if (!connection.groupRoleMapping) return { state: "mapping_off" };
  const plan = await planRemap(db, organizationId);
  if (!plan) return { state: "nothing_pending" };
  const run: RemapRun = { runId: `preview-${crypto.randomUUID()}`, organizationId, tenantId: connection.tenantId };
  try {
    let cursor: ReadCursor | null = plan.mappings.length > 0 ? { group: 0, link: null } : null;
    for (let n = 0; cursor; n++) {
      if (n >= MAX_READ_STEPS) return { state: "too_large" };
      const read = await readMappedGroups(db, config, run, plan, cursor, undefined, GRAPH_BUDGETS.interactive);
      if (!read.ok) return { state: "graph_failed" };
      cursor = read.next;
    }
    const listed = [];
    let total = 0;
    let lowered = 0;
    for (let n = 0, after: string | null = ""; after !== null; n++) {
      if (n >= MAX_DECIDE_STEPS) return { state: "too_large" };
      const slice = await decideMembers(db, run, plan, after, "preview", 0, PREVIEW_LIST_CAP - listed.length);
      listed.push(...slice.listed);
      total += slice.changes;
      lowered += slice.lowered;
      after = slice.after;
    }
    // One bound JSON parameter for up to 200 ids (D1 binds at most 100 a statement).
    const rows = await db.all<{ id: string; display_name: string }>(
      sql`select id, display_name from users where id in (select value from json_each(${JSON.stringify(listed.map((c) => c.userId))}))`,
    );
    const names = new Map(rows.map((u) => [u.id, u.display_name]));
    const changes = listed
      .map((c) => ({ displayName: names.get(c.userId) ?? "", from: c.fromRole, to: c.toRole, becauseOf: c.decidingGroup?.name ?? null }))
      .sort(
        (a, b) => roleRank(a.to) - roleRank(a.from) - (roleRank(b.to) - roleRank(b.from)) || a.displayName.localeCompare(b.displayName),
      );
    return { state: "ready", changes, total, lowered, held: exceedsHoldThreshold(lowered, plan.linkedActiveMembers, plan.threshold) };
  } finally {
    while (!(await clearRemapScratch(db, run.runId))) {
      // A large preview's scratch goes in slices of 10,000 rows.
    }
  }
}
