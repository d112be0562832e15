-- Issue 20, a sync scope change previewed at any size: the preview of a proposed scope is a run of
-- the import Workflow (src/entra/import/workflow.ts, src/entra/import/scopePreview.ts), read page by
-- page with its scratch rows, instead of a request that read at most 100,000 users. Its row is a
-- directory_imports row of the new phase 'scope' (its `scope` column holds the proposed scope, its
-- `tally` who would be added, deactivated and reactivated). SQLite cannot change a CHECK in place,
-- so the table is rebuilt with the same columns and indexes; one running per organization still
-- holds across imports and scope previews (they share the scratch table and the Graph budget).
CREATE TABLE directory_imports_new (
  id               TEXT PRIMARY KEY,
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  phase            TEXT NOT NULL CHECK (phase IN ('preview', 'apply', 'scope')),
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
    'graph_unavailable', 'throttled', 'forbidden', 'bad_response', 'tenant_changed', 'not_started', 'internal'))
);
INSERT INTO directory_imports_new SELECT id, organization_id, phase, status, scope, groups, preview_id, expected_users, started_by,
  started_at, finished_at, users_read, tally, mapping_on, added, error FROM directory_imports;
DROP TABLE directory_imports;
ALTER TABLE directory_imports_new RENAME TO directory_imports;
CREATE UNIQUE INDEX directory_imports_running ON directory_imports (organization_id) WHERE status = 'running';
CREATE INDEX directory_imports_org_started ON directory_imports (organization_id, started_at);
