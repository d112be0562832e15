-- A directory sync run (nightly, Sync now, Preview, a real-time read) that Microsoft Graph
-- throttles past the Graph client's retries sleeps (60, 300, then 900 s) and reads the same page
-- again (src/entra/sync/readLoop.ts, https://learn.microsoft.com/en-us/graph/throttling). Until
-- when, so the Entra page's Directory sync section says why the run stands still, as an import's
-- progress does (migrations/0031): set when the pause starts, cleared by the next read that
-- answers and by the end of the run.
ALTER TABLE sync_runs ADD COLUMN paused_until INTEGER;
