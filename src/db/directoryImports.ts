// Imports from the directory (issue 20, migrations/0026): the row of each preview or apply, which
// its Workflow's steps keep up to date (the Import section's progress bar reads it), and the
// import's scratch rows, which keep memory bounded at any directory size: group memberships, who
// was already counted, and an apply's people waiting to be written.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { directoryImports, type ImportFailure } from "./schema.ts";
import { statement, type Statement } from "./statements.ts";
import type { ImportedPerson } from "./importedMembers.ts";

export type ImportRow = typeof directoryImports.$inferSelect;

/** What an import's Workflow instance is started with (the IMPORT_WORKFLOW binding's params); its id is the import's. */
export interface ImportParams {
  importId: string;
  organizationId: string;
}

/**
 * Finished rows an organization keeps of each phase (the latest is the page's; the rest are history):
 * per phase, so previews of the next run clicked again and again never push out the Import preview
 * an Apply names.
 */
const KEPT_IMPORTS = 10;

/**
 * The import's row, unless the organization has one running: the partial unique index
 * (directory_imports_running) decides, so two starts at once never both run. Returns whether it
 * started. A running row whose Workflow instance died is closed by the start (import/start.ts), not here.
 */
export async function insertImportUnlessRunning(
  db: Db,
  row: {
    id: string;
    organizationId: string;
    phase: ImportRow["phase"];
    scope: unknown;
    groups: { id: string; name: string }[];
    previewId: string | null;
    expectedUsers: number | null;
    startedBy: string;
    now: number;
  },
): Promise<boolean> {
  const [inserted] = await db.$client.batch([
    statement(
      db,
      sql`insert into directory_imports (id, organization_id, phase, status, scope, groups, preview_id, expected_users, started_by, started_at)
        values (${row.id}, ${row.organizationId}, ${row.phase}, 'running', ${JSON.stringify(row.scope)}, ${JSON.stringify(row.groups)},
          ${row.previewId}, ${row.expectedUsers}, ${row.startedBy}, ${row.now})
        on conflict do nothing returning id`,
    ),
    statement(
      db,
      sql`delete from directory_imports where organization_id = ${row.organizationId} and phase = ${row.phase} and status != 'running'
        and id not in (select id from directory_imports where organization_id = ${row.organizationId} and phase = ${row.phase}
          order by started_at desc limit ${KEPT_IMPORTS})`,
    ),
  ]);
  return (inserted?.results.length ?? 0) === 1;
}

/**
 * One import by id, or the organization's latest of a kind: an Import preview or apply (what the
 * Import section shows), a sync scope change's preview (the Sync scope section's, migrations/0029),
 * or a preview of the next run (the mapping page's, migrations/0030).
 */
export async function findImport(
  db: Db,
  organizationId: string,
  id?: string,
  kind: "import" | "scope" | "next_run" = "import",
): Promise<ImportRow | null> {
  const ofKind = kind === "import" ? inArray(directoryImports.phase, ["preview", "apply"]) : eq(directoryImports.phase, kind);
  const [row] = await db
    .select()
    .from(directoryImports)
    .where(and(eq(directoryImports.organizationId, organizationId), id ? eq(directoryImports.id, id) : ofKind))
    .orderBy(desc(directoryImports.startedAt))
    .limit(1);
  return row ?? null;
}

/** The organization's running import, of any kind (the one a start is refused for), or null. */
export async function findRunningImport(db: Db, organizationId: string): Promise<ImportRow | null> {
  const [row] = await db
    .select()
    .from(directoryImports)
    .where(and(eq(directoryImports.organizationId, organizationId), eq(directoryImports.status, "running")))
    .limit(1);
  return row ?? null;
}

/** A page's progress: users read so far and the plan so far (written by the page's step). */
export function saveImportProgress(db: Db, id: string, progress: { usersRead: number; tally: unknown; mappingOn: boolean }): Statement {
  return statement(
    db,
    sql`update directory_imports set users_read = ${progress.usersRead}, tally = ${JSON.stringify(progress.tally)},
      mapping_on = ${progress.mappingOn ? 1 : 0} where id = ${id} and status = 'running'`,
  );
}

/** The end of an import: succeeded, or failed with its reason (and no longer paused). */
export function finishImport(db: Db, id: string, outcome: { error: ImportFailure | null; now: number }): Statement {
  return statement(
    db,
    sql`update directory_imports set status = ${outcome.error ? "failed" : "succeeded"}, error = ${outcome.error},
      finished_at = ${outcome.now}, paused_until = null where id = ${id} and status = 'running'`,
  );
}

/**
 * Microsoft Graph throttled the run past the Graph client's retries: it sleeps and reads the same
 * page again at `until` (migrations/0031), which its progress shows.
 */
export function pauseImport(db: Db, id: string, until: number): Statement {
  return statement(db, sql`update directory_imports set paused_until = ${until} where id = ${id} and status = 'running'`);
}

/** The read after a pause answered: the progress no longer shows the pause. */
export function resumeImport(db: Db, id: string): Statement {
  return statement(db, sql`update directory_imports set paused_until = null where id = ${id} and paused_until is not null`);
}

// ---- Scratch rows ----

/** Marks a page of a group's members: of the sync scope's groups, or of a mapped group (its id). */
export function markGroupMembers(db: Db, importId: string, oids: readonly string[], as: { inScope: true } | { mapped: string }) {
  const list = JSON.stringify(oids.map((oid) => oid.toLowerCase()));
  if ("inScope" in as) {
    return statement(
      db,
      sql`insert into directory_import_people (import_id, oid, in_scope) select ${importId}, value, 1 from json_each(${list}) where true
        on conflict (import_id, oid) do update set in_scope = 1`,
    );
  }
  // A retried step appends the group again: harmless, a membership is a contains test.
  const tag = `,${as.mapped.toLowerCase()},`;
  return statement(
    db,
    sql`insert into directory_import_people (import_id, oid, mapped) select ${importId}, value, ${tag} from json_each(${list}) where true
      on conflict (import_id, oid) do update set mapped = mapped || excluded.mapped`,
  );
}

export interface ScratchOfPerson {
  oid: string;
  inScope: boolean;
  /** Mapped groups the person is in (lower-case ids). */
  mapped: string[];
  /** Counted by this page (not by an earlier page of an overlapping source). */
  firstListed: boolean;
}

/**
 * What the scratch rows say of a page's people, in one round trip. With `listedAs` (sources that
 * overlap), each person not counted before is marked counted by this page, and a retry of the same
 * page finds them marked by it again, so a retried step counts the same people.
 */
export async function scratchOfPage(
  db: Db,
  importId: string,
  oids: readonly string[],
  listedAs: number | null,
): Promise<ScratchOfPerson[]> {
  const list = JSON.stringify(oids.map((oid) => oid.toLowerCase()));
  const read = statement(
    db,
    sql`select oid, in_scope, mapped, listed from directory_import_people
      where import_id = ${importId} and oid in (select value from json_each(${list}))`,
  );
  const writes =
    listedAs === null
      ? []
      : [
          statement(
            db,
            sql`insert into directory_import_people (import_id, oid, listed) select ${importId}, value, ${listedAs} from json_each(${list}) where true
              on conflict (import_id, oid) do update set listed = excluded.listed where listed = 0`,
          ),
        ];
  const results = await db.$client.batch([...writes, read]);
  const rows = (results.at(-1)?.results ?? []) as { oid: string; in_scope: number; mapped: string; listed: number }[];
  const byOid = new Map(rows.map((row) => [row.oid, row]));
  return oids.map((oid) => {
    const row = byOid.get(oid.toLowerCase());
    return {
      oid,
      inScope: row?.in_scope === 1,
      mapped: row?.mapped ? row.mapped.split(",").filter(Boolean) : [],
      firstListed: listedAs === null || row?.listed === listedAs,
    };
  });
}

/** An apply's people decided on a page, kept until a write step takes them. */
export function savePendingPeople(db: Db, importId: string, people: readonly ImportedPerson[]): Statement {
  return statement(
    db,
    sql`insert into directory_import_people (import_id, oid, person)
      select ${importId}, lower(json_extract(value, '$.oid')), value from json_each(${JSON.stringify(people)}) where true
      on conflict (import_id, oid) do update set person = excluded.person`,
  );
}

/**
 * Up to `limit` people waiting to be written, in object id order. Named index (migrations/0033): by
 * the primary key a step would scan past every other scratch row, up to one per directory user.
 */
export async function listPendingPeople(db: Db, importId: string, limit: number): Promise<ImportedPerson[]> {
  const rows = await db.all<{ person: string }>(sql`
    select person from directory_import_people indexed by directory_import_people_pending
      where import_id = ${importId} and person is not null order by oid limit ${limit}`);
  return rows.map((row) => JSON.parse(row.person) as ImportedPerson);
}

/**
 * People written: their rows go, or, when sources overlap, stay as "counted" without the person
 * (a later page that lists them again must not count them twice).
 */
export function forgetPendingPeople(db: Db, importId: string, oids: readonly string[], keepCounted: boolean): Statement {
  const list = JSON.stringify(oids.map((oid) => oid.toLowerCase()));
  return statement(
    db,
    keepCounted
      ? sql`update directory_import_people set person = null where import_id = ${importId} and oid in (select value from json_each(${list}))`
      : sql`delete from directory_import_people where import_id = ${importId} and oid in (select value from json_each(${list}))`,
  );
}

/**
 * Adds to the apply's count the memberships its writes at `now` made among `oids`: in the batch of
 * those writes, so a retried batch that adds nobody counts nobody.
 */
export function countAddedStatement(
  db: Db,
  change: { importId: string; organizationId: string; tenantId: string; oids: readonly string[]; now: number },
): Statement {
  return statement(
    db,
    sql`update directory_imports set added = added + (
      select count(*) from identities i join memberships m on m.user_id = i.user_id and m.organization_id = ${change.organizationId}
      where i.provider = 'microsoft' and i.issuer_key = ${change.tenantId}
        and i.subject in (select value from json_each(${JSON.stringify(change.oids)})) and m.created_at = ${change.now})
    where id = ${change.importId}`,
  );
}

/** Deletes up to `limit` of the import's scratch rows; returns how many went. */
export async function clearImportScratch(db: Db, importId: string, limit: number): Promise<number> {
  const result = await db.run(sql`
    delete from directory_import_people where import_id = ${importId}
      and oid in (select oid from directory_import_people where import_id = ${importId} limit ${limit})`);
  return result.meta.changes ?? 0;
}
