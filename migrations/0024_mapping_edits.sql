-- Mapping edits apply to everyone at the next run (issue 19). Tables of their own, never new columns
-- on memberships or entra_connections (the shared plan: only 0023 rebuilds memberships).
--
-- 1. Each organization's mapping version: every edit of the Group → Role mapping (a group added,
--    removed or given another role, the default role changed) bumps edited_version; a nightly run
--    or Sync now that has re-decided every linked member's role sets applied_version to the version
--    it read when it started. edited_version > applied_version: "changed since the last run".
CREATE TABLE mapping_edits (
  organization_id TEXT PRIMARY KEY REFERENCES organizations (id),
  edited_version  INTEGER NOT NULL,
  applied_version INTEGER NOT NULL DEFAULT 0,
  edited_at       INTEGER NOT NULL
);

-- 2. A re-deciding run's scratch: the mapped groups each active linked member (not an Owner) is in,
--    written page by page as the run reads each mapped group's transitive members, so a run never
--    holds a 1M-member tenant in memory. groups: a JSON array of mapped group ids. Deleted when the
--    run's role step ends. run_id: the sync run (or a preview's own id).
CREATE TABLE remap_matches (
  run_id  TEXT NOT NULL,
  user_id TEXT NOT NULL,
  groups  TEXT NOT NULL CHECK (json_valid(groups)),
  PRIMARY KEY (run_id, user_id)
);
