-- The directory alerts banner (src/db/alertsState.ts) is on every page an Owner or Admin opens,
-- so its one read must not walk the organization's run history (a row every night, kept for
-- years). Two small partial indexes answer its two questions with one index entry each:

-- "Is a run held?" Held runs are rare and a later run supersedes them, so this index holds a
-- handful of entries across all organizations; without it the answer is a scan of every run.
CREATE INDEX sync_runs_held ON sync_runs (organization_id, started_at, id) WHERE status = 'held';

-- "How did the last run end?" Only runs that could change members and have ended: previews,
-- runs still going and skipped nights are left out, so the newest entry is the answer however
-- many previews came after it.
CREATE INDEX sync_runs_concluded ON sync_runs (organization_id, started_at, id)
  WHERE trigger <> 'preview' AND status NOT IN ('running', 'skipped');
