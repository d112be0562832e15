-- Real-time updates (issue 11): a Microsoft Graph change-notification subscription on the tenant's
-- users while Auto-deprovision sync is on, and sync runs a notification triggered.
--
-- 1. sync_runs.trigger gains 'notification'. SQLite cannot change a CHECK constraint in place, so
--    the table is rebuilt as in 0004 (same columns, same order; sync_run_changes references it, so
--    foreign keys are deferred until the same ids are back), with 0008's index.
PRAGMA defer_foreign_keys = on;

CREATE TABLE sync_runs_0010 AS SELECT * FROM sync_runs;
DROP TABLE sync_runs;

CREATE TABLE sync_runs (
  id                 TEXT PRIMARY KEY,
  organization_id    TEXT NOT NULL REFERENCES organizations (id),
  trigger            TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'preview', 'notification')),
  mode               TEXT CHECK (mode IN ('full', 'delta')),
  status             TEXT NOT NULL CHECK (status IN (
                       'running', 'succeeded', 'failed', 'held', 'applied', 'dismissed', 'previewed', 'skipped', 'superseded')),
  started_at         INTEGER NOT NULL,
  finished_at        INTEGER,
  users_read         INTEGER NOT NULL DEFAULT 0,
  deactivated        INTEGER NOT NULL DEFAULT 0,
  reactivated        INTEGER NOT NULL DEFAULT 0,
  graph_requests     INTEGER NOT NULL DEFAULT 0,
  error              TEXT,
  pending_changes    TEXT CHECK (pending_changes IS NULL OR json_valid(pending_changes)),
  undone_at          INTEGER,
  undone_by          TEXT REFERENCES users (id),
  resolved_by        TEXT REFERENCES users (id)
);

INSERT INTO sync_runs SELECT * FROM sync_runs_0010;
DROP TABLE sync_runs_0010;
CREATE INDEX sync_runs_org_started ON sync_runs (organization_id, started_at, id);

PRAGMA defer_foreign_keys = off;

-- 2. One row per organization that holds (or failed to get) a subscription.
--    subscription_id: Graph's id; null while creation failed. A notification is looked up by it
--      (unique index), so traffic naming an unknown id reads one index entry and writes nothing.
--    client_state_enc: the per-subscription clientState secret, token-vault ciphertext
--      (src/lib/vault.ts, field "client_state"), compared in constant time with every item.
--    reread_pending: a notification came while a run was going; the run, when it ends, starts
--      one more delta read (src/entra/realtime/reread.ts). A burst is at most one more read.
--    failure: why creating or renewing failed (src/entra/realtime/failures.ts), shown on the page.
CREATE TABLE directory_subscriptions (
  organization_id          TEXT PRIMARY KEY REFERENCES organizations (id),
  tenant_id                TEXT NOT NULL,
  subscription_id          TEXT,
  client_state_enc         TEXT,
  status                   TEXT NOT NULL CHECK (status IN ('active', 'failed')),
  expires_at               INTEGER,
  failure                  TEXT,
  failed_at                INTEGER,
  last_notification_at     INTEGER,
  last_notification_run_id TEXT,
  reread_pending           INTEGER NOT NULL DEFAULT 0 CHECK (reread_pending IN (0, 1)),
  updated_at               INTEGER NOT NULL
);
CREATE UNIQUE INDEX directory_subscriptions_id ON directory_subscriptions (subscription_id) WHERE subscription_id IS NOT NULL;
-- The nightly renewal reads the subscriptions due soonest.
CREATE INDEX directory_subscriptions_expiry ON directory_subscriptions (expires_at);
