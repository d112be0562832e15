-- Issue 20, Import at any size: an import is a Workflow run (src/entra/import/workflow.ts), first a
-- preview, then on Apply an apply that reads the directory again, one Graph page a step.
-- 1. directory_imports: one row per preview or apply, written by its steps as they go: what the
--    Import section shows (a progress bar with how many users were read and added), so a reload
--    shows it too. At most one running per organization (a partial unique index): a second start
--    is refused. A failed run keeps its reason.
-- 2. directory_import_people: the run's scratch rows, cleared when it ends, so memory stays bounded
--    at any size: who of the sync scope's groups (in_scope) and of the mapped groups (mapped: their
--    ids, comma-separated) a person is in, whether a person was already counted (listed: sources
--    that overlap, several groups), and an apply's people decided on a page and not yet written
--    (person), written a bounded number a step.
CREATE TABLE directory_imports (
  id               TEXT PRIMARY KEY,
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  phase            TEXT NOT NULL CHECK (phase IN ('preview', 'apply')),
  status           TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  -- Who to import, validated: {"scope":"all"} or {"scope":"groups","groupIds":[…]}.
  scope            TEXT NOT NULL CHECK (json_valid(scope)),
  -- The chosen groups as the directory names them (read by id when the import started).
  groups           TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(groups)),
  -- An apply: the preview it applies (its users_read is the progress bar's end).
  preview_id       TEXT,
  expected_users   INTEGER,
  started_by       TEXT,
  started_at       INTEGER NOT NULL,
  finished_at      INTEGER,
  users_read       INTEGER NOT NULL DEFAULT 0,
  -- The plan so far: counts and first names per category, roles of the new people.
  tally            TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(tally)),
  mapping_on       INTEGER NOT NULL DEFAULT 0,
  added            INTEGER NOT NULL DEFAULT 0,
  error            TEXT CHECK (error IN ('needs_reconnect', 'not_connected', 'token_unreadable', 'sign_in_unavailable',
    'graph_unavailable', 'throttled', 'forbidden', 'bad_response', 'tenant_changed', 'not_started', 'internal'))
);
CREATE UNIQUE INDEX directory_imports_running ON directory_imports (organization_id) WHERE status = 'running';
CREATE INDEX directory_imports_org_started ON directory_imports (organization_id, started_at);

CREATE TABLE directory_import_people (
  import_id  TEXT NOT NULL,
  oid        TEXT NOT NULL,
  in_scope   INTEGER NOT NULL DEFAULT 0,
  mapped     TEXT NOT NULL DEFAULT '',
  listed     INTEGER NOT NULL DEFAULT 0,
  person     TEXT CHECK (person IS NULL OR json_valid(person)),
  PRIMARY KEY (import_id, oid)
) WITHOUT ROWID;
