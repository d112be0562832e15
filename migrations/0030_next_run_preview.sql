-- Issue 19, the mapping page's "Preview the next run" at any size: the preview of who the next
-- directory run would move after the mapping edits waiting for it is a run of the import Workflow
-- (src/entra/import/workflow.ts, src/entra/import/nextRunPreview.ts), one Workflow step per slice
-- of the mapped groups' pages and per slice of members, instead of a request that gave up past
-- about 100,000 members. Its row is a directory_imports row of the new phase 'next_run' (its
-- `tally` holds the counts and the first changes with names). A preview stops with the new reason
-- 'mapping_off' when Group → Role mapping is turned off while it runs. SQLite cannot change a CHECK
-- in place, so the table is rebuilt as 0029 did, with the same columns and indexes; one run at a
-- time per organization still holds across imports and previews (they share the Graph budget).
CREATE TABLE directory_imports_new (
  id               TEXT PRIMARY KEY,
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  phase            TEXT NOT NULL CHECK (phase IN ('preview', 'apply', 'scope', 'next_run')),
  status           TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  scope            TEXT NOT NULL CHECK (json_valid(scope)),
  groups           TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(groups)),
  preview_id       TEXT,
  expected_users   INTEGER,
  started_by       TEXT,
  started_at       INTEGER NOT NULL,
  finished_at      INTEGER,
  users_read       INTEGER NOT NULL DEFAULT 0,
  tally            TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(tally)),
  mapping_on       INTEGER NOT NULL DEFAULT 0,
  added            INTEGER NOT NULL DEFAULT 0,
  error            TEXT CHECK (error IN ('needs_reconnect', 'not_connected', 'token_unreadable', 'sign_in_unavailable',
    'graph_unavailable', 'throttled', 'forbidden', 'bad_response', 'tenant_changed', 'not_started', 'internal', 'mapping_off'))
);
INSERT INTO directory_imports_new SELECT id, organization_id, phase, status, scope, groups, preview_id, expected_users, started_by,
  started_at, finished_at, users_read, tally, mapping_on, added, error FROM directory_imports;
DROP TABLE directory_imports;
ALTER TABLE directory_imports_new RENAME TO directory_imports;
CREATE UNIQUE INDEX directory_imports_running ON directory_imports (organization_id) WHERE status = 'running';
CREATE INDEX directory_imports_org_started ON directory_imports (organization_id, started_at);
