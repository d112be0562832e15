-- One name per idea (issue 17).
--
-- 1. Real-time updates' table is named for them: directory_subscriptions → realtime_subscriptions,
--    its indexes with it (SQLite cannot rename an index, so they are dropped and created again).
--    Done first, while every table the schema's triggers name exists: a rename re-checks them.
-- 2. "By hand" is spelled one way: memberships.deactivated_reason 'manual' becomes 'by_hand', as
--    webhook_endpoints.disabled_reason and the events' `cause` already say.
-- 3. sync_runs.trigger names what started a run as the page does: 'manual' (the Sync now button,
--    not "by hand") becomes 'sync_now', 'notification' (a real-time update) becomes 'realtime'.
--
-- SQLite cannot change a CHECK constraint in place, so memberships and sync_runs are rebuilt as
-- migrations/0010 rebuilt sync_runs: copied aside, dropped, created again with the same columns in
-- the same order, filled back with the old values mapped, then every index and trigger the old
-- table had (migrations/0001, 0003, 0008, 0009, 0010, 0012, 0013) is created again exactly. D1
-- enforces foreign keys: sync_run_changes references sync_runs, so foreign keys are deferred
-- until the same ids are back, before the commit. Dropping a table fires none of its triggers, and
-- memberships' triggers are created only after its rows are back, so linked_active_members and
-- the sort keys are left as they were.
PRAGMA defer_foreign_keys = on;

-- 1. realtime_subscriptions
ALTER TABLE directory_subscriptions RENAME TO realtime_subscriptions;
DROP INDEX directory_subscriptions_id;
DROP INDEX directory_subscriptions_expiry;
CREATE UNIQUE INDEX realtime_subscriptions_id ON realtime_subscriptions (subscription_id) WHERE subscription_id IS NOT NULL;
-- The nightly renewal reads the subscriptions due soonest.
CREATE INDEX realtime_subscriptions_expiry ON realtime_subscriptions (expires_at);

-- 2. memberships
CREATE TABLE memberships_0017 AS SELECT * FROM memberships;
DROP TABLE memberships;

CREATE TABLE memberships (
  organization_id     TEXT NOT NULL REFERENCES organizations (id),
  user_id             TEXT NOT NULL REFERENCES users (id),
  role                TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
  status              TEXT NOT NULL CHECK (status IN ('active', 'deactivated')),
  -- 'scim': deprovisioned by the identity provider over SCIM (issue 21; added before 0017 was released).
  deactivated_reason  TEXT CHECK (deactivated_reason IN ('by_hand', 'directory_sync', 'scim')),
  deactivated_at      INTEGER,
  deactivated_by_run  TEXT,           -- sync run that deactivated the member, for undo
  created_at          INTEGER NOT NULL,
  name_key            TEXT,           -- lower(users.display_name), kept by memberships_sort_keys and users_sort_keys
  email_key           TEXT,           -- lower(users.email), likewise
  PRIMARY KEY (organization_id, user_id),
  CHECK ((status = 'active') = (deactivated_reason IS NULL))
);

INSERT INTO memberships (organization_id, user_id, role, status, deactivated_reason, deactivated_at, deactivated_by_run, created_at,
  name_key, email_key)
SELECT organization_id, user_id, role, status,
  CASE deactivated_reason WHEN 'manual' THEN 'by_hand' ELSE deactivated_reason END,
  deactivated_at, deactivated_by_run, created_at, name_key, email_key
FROM memberships_0017;
DROP TABLE memberships_0017;

-- Indexes, as migrations/0001, 0003, 0008 and 0009 created them (the reasons are there).
CREATE INDEX memberships_user ON memberships (user_id);
CREATE INDEX memberships_run ON memberships (deactivated_by_run) WHERE deactivated_by_run IS NOT NULL;
CREATE INDEX memberships_by_name ON memberships (organization_id, name_key, user_id, role, status, deactivated_reason);
CREATE INDEX memberships_by_email ON memberships (organization_id, email_key, user_id, name_key, role, status, deactivated_reason);
CREATE INDEX memberships_by_status ON memberships (organization_id, status, name_key, user_id, role, deactivated_reason);
CREATE INDEX memberships_by_role ON memberships (organization_id, role, name_key, user_id, status, deactivated_reason);
CREATE INDEX memberships_by_reason ON memberships (organization_id, deactivated_reason, name_key, user_id, role, status)
  WHERE deactivated_reason IS NOT NULL;
CREATE INDEX memberships_org_standing ON memberships (organization_id, user_id, status, deactivated_reason, created_at);

-- Triggers, as migrations/0008 (sort keys) and 0009 (linked members count) created them.
CREATE TRIGGER memberships_sort_keys AFTER INSERT ON memberships
WHEN NEW.name_key IS NULL
BEGIN
  UPDATE memberships SET
    name_key = (SELECT lower(display_name) FROM users WHERE users.id = NEW.user_id),
    email_key = (SELECT lower(email) FROM users WHERE users.id = NEW.user_id)
  WHERE organization_id = NEW.organization_id AND user_id = NEW.user_id;
END;

CREATE TRIGGER memberships_linked_count_insert AFTER INSERT ON memberships
WHEN NEW.status = 'active'
BEGIN
  UPDATE entra_connections SET linked_active_members = linked_active_members + 1
  WHERE organization_id = NEW.organization_id
    AND EXISTS (SELECT 1 FROM identities i WHERE i.user_id = NEW.user_id AND i.provider = 'microsoft' AND i.issuer_key = entra_connections.tenant_id);
END;

CREATE TRIGGER memberships_linked_count_delete AFTER DELETE ON memberships
WHEN OLD.status = 'active'
BEGIN
  UPDATE entra_connections SET linked_active_members = linked_active_members - 1
  WHERE organization_id = OLD.organization_id
    AND EXISTS (SELECT 1 FROM identities i WHERE i.user_id = OLD.user_id AND i.provider = 'microsoft' AND i.issuer_key = entra_connections.tenant_id);
END;

-- Role changes do not name these columns, so they never fire it.
CREATE TRIGGER memberships_linked_count_update AFTER UPDATE OF status, organization_id, user_id ON memberships
WHEN (OLD.status = 'active') <> (NEW.status = 'active') OR OLD.organization_id <> NEW.organization_id OR OLD.user_id <> NEW.user_id
BEGIN
  UPDATE entra_connections SET linked_active_members = linked_active_members - 1
  WHERE OLD.status = 'active' AND organization_id = OLD.organization_id
    AND EXISTS (SELECT 1 FROM identities i WHERE i.user_id = OLD.user_id AND i.provider = 'microsoft' AND i.issuer_key = entra_connections.tenant_id);
  UPDATE entra_connections SET linked_active_members = linked_active_members + 1
  WHERE NEW.status = 'active' AND organization_id = NEW.organization_id
    AND EXISTS (SELECT 1 FROM identities i WHERE i.user_id = NEW.user_id AND i.provider = 'microsoft' AND i.issuer_key = entra_connections.tenant_id);
END;

-- 3. sync_runs
CREATE TABLE sync_runs_0017 AS SELECT * FROM sync_runs;
DROP TABLE sync_runs;

CREATE TABLE sync_runs (
  id                 TEXT PRIMARY KEY,
  organization_id    TEXT NOT NULL REFERENCES organizations (id),
  trigger            TEXT NOT NULL CHECK (trigger IN ('schedule', 'sync_now', 'preview', 'realtime')),
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

INSERT INTO sync_runs (id, organization_id, trigger, mode, status, started_at, finished_at, users_read, deactivated, reactivated,
  graph_requests, error, pending_changes, undone_at, undone_by, resolved_by)
SELECT id, organization_id,
  CASE trigger WHEN 'manual' THEN 'sync_now' WHEN 'notification' THEN 'realtime' ELSE trigger END,
  mode, status, started_at, finished_at, users_read, deactivated, reactivated, graph_requests, error, pending_changes,
  undone_at, undone_by, resolved_by
FROM sync_runs_0017;
DROP TABLE sync_runs_0017;

-- Indexes, as migrations/0008, 0012 and 0013 created them (the reasons are there).
CREATE INDEX sync_runs_org_started ON sync_runs (organization_id, started_at, id);
CREATE INDEX sync_runs_held ON sync_runs (organization_id, started_at, id) WHERE status = 'held';
CREATE INDEX sync_runs_concluded ON sync_runs (organization_id, started_at, id)
  WHERE trigger <> 'preview' AND status NOT IN ('running', 'skipped');
CREATE INDEX sync_runs_started ON sync_runs (started_at);

PRAGMA defer_foreign_keys = off;

-- 4. The sync.run.held and sync.run.failed events keep the `trigger` receivers know
--    (docs/events.md): the audit details now carry 'sync_now' and 'realtime', which the event
--    still calls 'manual' and 'notification'. Otherwise the trigger is migrations/0011's.
DROP TRIGGER webhook_event_sync_run;
CREATE TRIGGER webhook_event_sync_run AFTER INSERT ON audit_events
WHEN NEW.action = 'sync.run_finished' AND json_extract(NEW.details, '$.outcome') IN ('held', 'failed')
  AND EXISTS (SELECT 1 FROM webhook_endpoints e JOIN organizations o ON o.id = e.organization_id AND o.plan = 'enterprise' WHERE e.organization_id = NEW.organization_id AND e.enabled = 1
    AND instr(e.event_types, ' sync.run.' || json_extract(NEW.details, '$.outcome') || ' ') > 0)
BEGIN
  INSERT INTO webhook_events (id, organization_id, type, payload, created_at)
  VALUES ('msg_' || lower(hex(randomblob(16))), NEW.organization_id, 'sync.run.' || json_extract(NEW.details, '$.outcome'), json_object(
    'type', 'sync.run.' || json_extract(NEW.details, '$.outcome'),
    'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.created_at / 1000.0, 'unixepoch'),
    'data', json_object(
      'organization_id', NEW.organization_id,
      'run_id', json_extract(NEW.details, '$.runId'),
      'trigger', CASE json_extract(NEW.details, '$.trigger')
        WHEN 'sync_now' THEN 'manual' WHEN 'realtime' THEN 'notification' ELSE json_extract(NEW.details, '$.trigger') END,
      'mode', json_extract(NEW.details, '$.mode'),
      'users_read', json_extract(NEW.details, '$.usersRead'),
      'would_deactivate', json_extract(NEW.details, '$.wouldDeactivate'),
      'would_reactivate', json_extract(NEW.details, '$.wouldReactivate'),
      'error', json_extract(NEW.details, '$.error'))), NEW.created_at);
END;
