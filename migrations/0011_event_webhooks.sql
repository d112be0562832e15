-- Event webhooks (issue 12): endpoints an Owner or Admin registers, the outbox of events they are
-- sent, and the log of delivery attempts. docs/events.md describes each event's JSON.

-- An endpoint: where to POST, which event types, and its signing secret(s) sealed by the token
-- vault (field `webhook_secret`, bound to the endpoint id). `event_types` is the chosen types
-- space-separated with a space at each end (" member.deactivated sync.run.held "), so the
-- triggers below test a subscription with one instr() and no JSON parsing.
-- `previous_secret_enc` is the secret a rotation replaced; it still signs until
-- `previous_secret_expires_at` (24 h), so receivers can roll over without dropping an event.
CREATE TABLE webhook_endpoints (
  id                          TEXT PRIMARY KEY,
  organization_id             TEXT NOT NULL,
  url                         TEXT NOT NULL,
  event_types                 TEXT NOT NULL,
  enabled                     INTEGER NOT NULL DEFAULT 1,
  -- Why it is off: 'by_hand', or 'failing' (every attempt failed for a day; see consumer.ts).
  disabled_reason             TEXT,
  disabled_at                 INTEGER,
  secret_enc                  TEXT NOT NULL,
  previous_secret_enc         TEXT,
  previous_secret_expires_at  INTEGER,
  -- Since when every attempt has failed (null after a success), and how many in a row.
  failing_since               INTEGER,
  consecutive_failures        INTEGER NOT NULL DEFAULT 0,
  -- The last Send test event or Redeliver: at most one per endpoint every 10 seconds.
  manual_send_at              INTEGER,
  created_by                  TEXT NOT NULL,
  created_at                  INTEGER NOT NULL,
  updated_at                  INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (organization_id, enabled);

-- The outbox: one row per event, written by the same statement (the triggers below) or the same
-- batch (bulk import) as the change it describes, so an event exists exactly when its change
-- committed. `id` is the Standard Webhooks `webhook-id`: the same for every endpoint and every
-- retry, so receivers can de-duplicate. `seq` orders the relay; `claimed_at` is set when a relay
-- takes the row (so two relays never send it both; a crashed relay's claim lapses after a few
-- minutes and the row is taken again), and `relayed_at` once the event's deliveries are on the queue.
CREATE TABLE webhook_events (
  seq              INTEGER PRIMARY KEY,
  id               TEXT NOT NULL UNIQUE,
  organization_id  TEXT NOT NULL,
  type             TEXT NOT NULL,
  payload          TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  claimed_at       INTEGER,
  relayed_at       INTEGER
);
-- Only the pending rows are indexed for the relay; pruning reads the oldest seqs (seq grows with
-- time), so no index on created_at costs every event a write.
CREATE INDEX webhook_events_pending ON webhook_events (seq) WHERE relayed_at IS NULL;

-- Every delivery attempt, newest kept: the consumer prunes each endpoint to its last 100.
-- Only a short excerpt of the receiver's answer is kept, never its whole body.
CREATE TABLE webhook_attempts (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  endpoint_id       TEXT NOT NULL,
  organization_id   TEXT NOT NULL,
  event_id          TEXT NOT NULL,
  event_type        TEXT NOT NULL,
  attempt           INTEGER NOT NULL,
  attempted_at      INTEGER NOT NULL,
  duration_ms       INTEGER NOT NULL,
  -- 'delivered', 'retrying' (another attempt is queued), 'failed' (given up: 24 h passed, or
  -- the endpoint was disabled or deleted meanwhile).
  outcome           TEXT NOT NULL,
  status_code       INTEGER,
  error             TEXT,
  response_excerpt  TEXT
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);

-- The events, raised by triggers in the statement that makes the change: every path that audits a
-- deactivation, a role change or a run's outcome emits, including paths written later, and an
-- organization without a subscribed, enabled endpoint, or not on the Enterprise plan, writes no
-- outbox row (the WHEN clause is one probe of webhook_endpoints_org and one of the organization's
-- primary key). After a downgrade the endpoints stay, listed for Owners and Admins to disable or
-- delete, but nothing is raised for them. Member events carry the cause (sign_in, import, mapping,
-- directory_sync, by_hand) and the run id when a run did it.
CREATE TRIGGER webhook_event_member_provisioned AFTER INSERT ON audit_events
WHEN NEW.action = 'entra.user_provisioned' AND EXISTS (SELECT 1 FROM webhook_endpoints e JOIN organizations o ON o.id = e.organization_id AND o.plan = 'enterprise'
  WHERE e.organization_id = NEW.organization_id AND e.enabled = 1 AND instr(e.event_types, ' member.provisioned ') > 0)
BEGIN
  INSERT INTO webhook_events (id, organization_id, type, payload, created_at)
  SELECT 'msg_' || lower(hex(randomblob(16))), NEW.organization_id, 'member.provisioned', json_object(
    'type', 'member.provisioned',
    'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.created_at / 1000.0, 'unixepoch'),
    'data', json_object(
      'organization_id', NEW.organization_id,
      'member', json_object('user_id', u.id, 'email', u.email, 'display_name', u.display_name),
      'role', json_extract(NEW.details, '$.role'),
      'cause', 'sign_in', 'run_id', NULL, 'actor_user_id', NULL)), NEW.created_at
  FROM users u WHERE u.id = NEW.target_user_id;
END;

CREATE TRIGGER webhook_event_member_deactivated AFTER INSERT ON audit_events
WHEN NEW.action = 'member.deactivated' AND EXISTS (SELECT 1 FROM webhook_endpoints e JOIN organizations o ON o.id = e.organization_id AND o.plan = 'enterprise'
  WHERE e.organization_id = NEW.organization_id AND e.enabled = 1 AND instr(e.event_types, ' member.deactivated ') > 0)
BEGIN
  INSERT INTO webhook_events (id, organization_id, type, payload, created_at)
  SELECT 'msg_' || lower(hex(randomblob(16))), NEW.organization_id, 'member.deactivated', json_object(
    'type', 'member.deactivated',
    'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.created_at / 1000.0, 'unixepoch'),
    'data', json_object(
      'organization_id', NEW.organization_id,
      'member', json_object('user_id', u.id, 'email', u.email, 'display_name', u.display_name),
      'cause', CASE json_extract(NEW.details, '$.reason') WHEN 'directory_sync' THEN 'directory_sync' ELSE 'by_hand' END,
      -- Directory sync's reason: disabled, deleted, or absent from a complete listing.
      'directory_reason', json_extract(NEW.details, '$.cause'),
      'run_id', json_extract(NEW.details, '$.runId'), 'actor_user_id', NEW.actor_user_id)), NEW.created_at
  FROM users u WHERE u.id = NEW.target_user_id;
END;

CREATE TRIGGER webhook_event_member_reactivated AFTER INSERT ON audit_events
WHEN NEW.action = 'member.reactivated' AND EXISTS (SELECT 1 FROM webhook_endpoints e JOIN organizations o ON o.id = e.organization_id AND o.plan = 'enterprise'
  WHERE e.organization_id = NEW.organization_id AND e.enabled = 1 AND instr(e.event_types, ' member.reactivated ') > 0)
BEGIN
  INSERT INTO webhook_events (id, organization_id, type, payload, created_at)
  SELECT 'msg_' || lower(hex(randomblob(16))), NEW.organization_id, 'member.reactivated', json_object(
    'type', 'member.reactivated',
    'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.created_at / 1000.0, 'unixepoch'),
    'data', json_object(
      'organization_id', NEW.organization_id,
      'member', json_object('user_id', u.id, 'email', u.email, 'display_name', u.display_name),
      -- An Undo of a run is an admin's hand, with the run it undid.
      'cause', CASE json_extract(NEW.details, '$.reason') WHEN 'directory_sync' THEN 'directory_sync' ELSE 'by_hand' END,
      'run_id', json_extract(NEW.details, '$.runId'), 'actor_user_id', NEW.actor_user_id)), NEW.created_at
  FROM users u WHERE u.id = NEW.target_user_id;
END;

-- By hand (member.role_changed) and by group mapping at sign-in (entra.role_mapped).
CREATE TRIGGER webhook_event_member_role_changed AFTER INSERT ON audit_events
WHEN NEW.action IN ('member.role_changed', 'entra.role_mapped') AND EXISTS (SELECT 1 FROM webhook_endpoints e JOIN organizations o ON o.id = e.organization_id AND o.plan = 'enterprise'
  WHERE e.organization_id = NEW.organization_id AND e.enabled = 1 AND instr(e.event_types, ' member.role_changed ') > 0)
BEGIN
  INSERT INTO webhook_events (id, organization_id, type, payload, created_at)
  SELECT 'msg_' || lower(hex(randomblob(16))), NEW.organization_id, 'member.role_changed', json_object(
    'type', 'member.role_changed',
    'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.created_at / 1000.0, 'unixepoch'),
    'data', json_object(
      'organization_id', NEW.organization_id,
      'member', json_object('user_id', u.id, 'email', u.email, 'display_name', u.display_name),
      'from_role', json_extract(NEW.details, '$.from'), 'to_role', json_extract(NEW.details, '$.to'),
      'cause', CASE NEW.action WHEN 'entra.role_mapped' THEN 'mapping' ELSE 'by_hand' END,
      'run_id', NULL, 'actor_user_id', NEW.actor_user_id)), NEW.created_at
  FROM users u WHERE u.id = NEW.target_user_id;
END;

-- A run's outcome is audited once, in the batch that closes the run (recordRun.ts).
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
      'trigger', json_extract(NEW.details, '$.trigger'),
      'mode', json_extract(NEW.details, '$.mode'),
      'users_read', json_extract(NEW.details, '$.usersRead'),
      'would_deactivate', json_extract(NEW.details, '$.wouldDeactivate'),
      'would_reactivate', json_extract(NEW.details, '$.wouldReactivate'),
      'error', json_extract(NEW.details, '$.error'))), NEW.created_at);
END;

CREATE TRIGGER webhook_event_connection AFTER INSERT ON audit_events
WHEN NEW.action IN ('entra.connected', 'entra.disconnected') AND EXISTS (SELECT 1 FROM webhook_endpoints e JOIN organizations o ON o.id = e.organization_id AND o.plan = 'enterprise'
  WHERE e.organization_id = NEW.organization_id AND e.enabled = 1
    AND instr(e.event_types, CASE NEW.action WHEN 'entra.connected' THEN ' connection.connected ' ELSE ' connection.disconnected ' END) > 0)
BEGIN
  INSERT INTO webhook_events (id, organization_id, type, payload, created_at)
  SELECT 'msg_' || lower(hex(randomblob(16))), NEW.organization_id, t.type, json_object(
    'type', t.type,
    'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.created_at / 1000.0, 'unixepoch'),
    'data', json_object(
      'organization_id', NEW.organization_id,
      'tenant_id', coalesce(json_extract(NEW.details, '$.tenantId'), c.tenant_id),
      'tenant_name', coalesce(json_extract(NEW.details, '$.tenantName'), c.tenant_name),
      'actor_user_id', NEW.actor_user_id)), NEW.created_at
  FROM (SELECT CASE NEW.action WHEN 'entra.connected' THEN 'connection.connected' ELSE 'connection.disconnected' END AS type) t
  LEFT JOIN entra_connections c ON c.organization_id = NEW.organization_id;
END;

-- Needs reconnect is not audited: the status change itself (src/db/connections.ts
-- saveNeedsReconnect) raises it, once per change of status.
CREATE TRIGGER webhook_event_needs_reconnect AFTER UPDATE OF status ON entra_connections
WHEN NEW.status = 'needs_reconnect' AND OLD.status != 'needs_reconnect' AND EXISTS (SELECT 1 FROM webhook_endpoints e JOIN organizations o ON o.id = e.organization_id AND o.plan = 'enterprise'
  WHERE e.organization_id = NEW.organization_id AND e.enabled = 1 AND instr(e.event_types, ' connection.needs_reconnect ') > 0)
BEGIN
  INSERT INTO webhook_events (id, organization_id, type, payload, created_at)
  VALUES ('msg_' || lower(hex(randomblob(16))), NEW.organization_id, 'connection.needs_reconnect', json_object(
    'type', 'connection.needs_reconnect',
    'timestamp', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.updated_at / 1000.0, 'unixepoch'),
    'data', json_object(
      'organization_id', NEW.organization_id,
      'tenant_id', NEW.tenant_id,
      'tenant_name', NEW.tenant_name,
      'reason', NEW.failure_reason)), NEW.updated_at);
END;
