-- Scope leavers follow every leaver rule (issue 20). A run's scope leavers ("left the sync scope")
-- and those back in it now go on the run's own change list with its other leavers and returners:
-- counted together against the hold threshold, listed on a held run's page, applied by Apply. So
-- sync_run_changes.cause gains 'left_scope' (a deactivation) and 'in_scope' (a reactivation of a
-- member deactivated for leaving). SQLite cannot change a CHECK in place: the table is rebuilt with
-- the same columns in the same order, its rows copied back. No index or trigger is defined on it
-- besides its primary key, and no table references it.
PRAGMA defer_foreign_keys = on;

CREATE TABLE sync_run_changes_0027 AS SELECT * FROM sync_run_changes;
DROP TABLE sync_run_changes;

CREATE TABLE sync_run_changes (
  run_id           TEXT NOT NULL REFERENCES sync_runs (id),
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  user_id          TEXT NOT NULL REFERENCES users (id),
  change           TEXT NOT NULL CHECK (change IN ('deactivate', 'reactivate')),
  cause            TEXT NOT NULL CHECK (cause IN ('disabled', 'deleted', 'absent', 'enabled', 'left_scope', 'in_scope')),
  PRIMARY KEY (run_id, user_id)
);

INSERT INTO sync_run_changes (run_id, organization_id, user_id, change, cause)
SELECT run_id, organization_id, user_id, change, cause FROM sync_run_changes_0027;
DROP TABLE sync_run_changes_0027;

PRAGMA defer_foreign_keys = off;
