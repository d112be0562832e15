-- Directory sync at any tenant size (issue 5).
-- A held or previewed run's list of who it would change, one row per member: a JSON column could
-- not hold a 500k-user tenant's list (D1 values are capped at 2 MB). Applied runs do not write
-- here: their changes are the memberships themselves (deactivated_by_run) and the audit log.
CREATE TABLE sync_run_changes (
  run_id           TEXT NOT NULL REFERENCES sync_runs (id),
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  user_id          TEXT NOT NULL REFERENCES users (id),
  change           TEXT NOT NULL CHECK (change IN ('deactivate', 'reactivate')),
  cause            TEXT NOT NULL CHECK (cause IN ('disabled', 'deleted', 'absent', 'enabled')),
  PRIMARY KEY (run_id, user_id)
);

-- "Undo" reactivates exactly the members a run deactivated, and ends their sessions at apply
-- time: both look members up by run. Partial, so the many never-deactivated rows cost nothing.
CREATE INDEX memberships_run ON memberships (deactivated_by_run) WHERE deactivated_by_run IS NOT NULL;

-- Who undid a finished run, and when (a run is undone at most once).
ALTER TABLE sync_runs ADD COLUMN undone_at INTEGER;
ALTER TABLE sync_runs ADD COLUMN undone_by TEXT REFERENCES users (id);
-- Who applied or dismissed a held run.
ALTER TABLE sync_runs ADD COLUMN resolved_by TEXT REFERENCES users (id);
