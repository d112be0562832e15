-- Run outcomes as their own status values (issue 8).
-- A nightly run skipped because another run was going was stored as status 'failed' with the
-- marker 'skipped_busy' in `error`; a held run replaced by a later run as 'dismissed' with the
-- marker 'superseded'. Both are now statuses of their own ('skipped', 'superseded'), and `error`
-- holds only why a run failed. `pending_changes` is checked to be JSON (the app reads it as a
-- JSON column).
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt. sync_run_changes
-- references sync_runs: with foreign keys deferred, dropping the old table leaves its rows
-- without a parent until the same ids are inserted into the new one, before the commit.
PRAGMA defer_foreign_keys = on;

CREATE TABLE sync_runs_0004 AS SELECT * FROM sync_runs;
DROP TABLE sync_runs;

CREATE TABLE sync_runs (
  id                 TEXT PRIMARY KEY,
  organization_id    TEXT NOT NULL REFERENCES organizations (id),
  trigger            TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'preview')),
  mode               TEXT CHECK (mode IN ('full', 'delta')),
  status             TEXT NOT NULL CHECK (status IN (
                       'running', 'succeeded', 'failed', 'held', 'applied', 'dismissed', 'previewed', 'skipped', 'superseded')),
  started_at         INTEGER NOT NULL,
  finished_at        INTEGER,
  users_read         INTEGER NOT NULL DEFAULT 0,
  deactivated        INTEGER NOT NULL DEFAULT 0,
  reactivated        INTEGER NOT NULL DEFAULT 0,
  graph_requests     INTEGER NOT NULL DEFAULT 0,
  error              TEXT,             -- why a failed run failed (src/entra/sync/failures.ts)
  pending_changes    TEXT CHECK (pending_changes IS NULL OR json_valid(pending_changes)),  -- JSON summary of a held or previewed run
  undone_at          INTEGER,
  undone_by          TEXT REFERENCES users (id),
  resolved_by        TEXT REFERENCES users (id)
);

INSERT INTO sync_runs (id, organization_id, trigger, mode, status, started_at, finished_at, users_read, deactivated, reactivated,
  graph_requests, error, pending_changes, undone_at, undone_by, resolved_by)
SELECT id, organization_id, trigger, mode,
  CASE
    WHEN status = 'failed' AND error = 'skipped_busy' THEN 'skipped'
    WHEN status = 'dismissed' AND error = 'superseded' THEN 'superseded'
    ELSE status
  END,
  started_at, finished_at, users_read, deactivated, reactivated, graph_requests,
  CASE
    WHEN status = 'failed' AND error = 'skipped_busy' THEN NULL
    WHEN status = 'dismissed' AND error = 'superseded' THEN NULL
    ELSE error
  END,
  CASE WHEN json_valid(pending_changes) THEN pending_changes ELSE NULL END,
  undone_at, undone_by, resolved_by
FROM sync_runs_0004;

DROP TABLE sync_runs_0004;
CREATE INDEX sync_runs_org ON sync_runs (organization_id, started_at DESC);

PRAGMA defer_foreign_keys = off;
