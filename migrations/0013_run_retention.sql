-- Run history that does not grow forever: the nightly housekeeping deletes runs older than the
-- audit retention (src/db/retention.ts, deleteOldRunsBatch). This index lets each batch read only
-- runs past the cutoff, oldest first, instead of every organization's history (3.65M rows a year
-- at 10,000 organizations); EXPLAIN QUERY PLAN: SEARCH sync_runs USING INDEX sync_runs_started (started_at<?).
CREATE INDEX sync_runs_started ON sync_runs (started_at);
