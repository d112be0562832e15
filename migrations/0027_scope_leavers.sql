-- Issue 20, the remaining gaps of scope and joiners.
--
-- 1. Scope leavers follow every leaver rule. A run's scope leavers ("left the sync scope") and those
--    back in it now go on the run's own change list with its other leavers and returners: counted
--    together against the hold threshold, listed on a held run's page, applied by Apply. So
--    sync_run_changes.cause gains 'left_scope' (a deactivation) and 'in_scope' (a reactivation of a
--    member deactivated for leaving). SQLite cannot change a CHECK in place: the table is rebuilt
--    with the same columns in the same order, its rows copied back. No index or trigger is defined
--    on it besides its primary key, and no table references it.
-- 2. Rows written per joiner (the joiner_sync bench: 19 at 1M users, the issue asks ≤ 15). A person
--    added writes their users, identities and memberships rows with every index entry of each.
--    memberships and identities become WITHOUT ROWID tables: the primary key is the table itself,
--    so the separate primary-key index (one more entry per row) is gone, and the covering index
--    memberships_org_standing (organization_id, user_id, status, deactivated_reason, created_at),
--    the primary key plus three columns, is the table now: dropped. Lookups by key read the same
--    rows (a WITHOUT ROWID table is a b-tree on its key: https://www.sqlite.org/withoutrowid.html).
--    Each is rebuilt as migrations/0023 rebuilt memberships: copied aside, dropped, created again
--    with the same columns in the same order, filled back, then its indexes and triggers created
--    again (identities' triggers compared a row by rowid, which a WITHOUT ROWID table has not: they
--    compare the subject, the rest of its key being equal in the same condition). Dropping a table
--    fires none of its triggers, and the triggers are created only after the rows are back, so
--    linked_active_members and the sort keys are left as they were.
PRAGMA defer_foreign_keys = on;

-- 1. sync_run_changes.

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


-- 2. memberships, WITHOUT ROWID.
CREATE TABLE memberships_0027 AS SELECT * FROM memberships;
DROP TABLE memberships;

CREATE TABLE memberships (
  organization_id     TEXT NOT NULL REFERENCES organizations (id),
  user_id             TEXT NOT NULL REFERENCES users (id),
  role                TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
  status              TEXT NOT NULL CHECK (status IN ('active', 'deactivated')),
  -- 'left_scope': directory sync, because the member left the sync scope (issue 20).
  deactivated_reason  TEXT CHECK (deactivated_reason IN ('by_hand', 'directory_sync', 'scim', 'left_scope')),
  deactivated_at      INTEGER,
  deactivated_by_run  TEXT,           -- sync run that deactivated the member, for undo
  created_at          INTEGER NOT NULL,
  name_key            TEXT,           -- lower(users.display_name), kept by memberships_sort_keys and users_sort_keys
  email_key           TEXT,           -- lower(users.email), likewise
  PRIMARY KEY (organization_id, user_id),
  CHECK ((status = 'active') = (deactivated_reason IS NULL))
) WITHOUT ROWID;

INSERT INTO memberships (organization_id, user_id, role, status, deactivated_reason, deactivated_at, deactivated_by_run, created_at,
  name_key, email_key)
SELECT organization_id, user_id, role, status, deactivated_reason, deactivated_at, deactivated_by_run, created_at, name_key, email_key
FROM memberships_0027;
DROP TABLE memberships_0027;

-- Indexes, as migrations/0023 created them (the reasons are in 0001, 0003, 0008 and 0009), but
-- memberships_org_standing: the table's own key now covers what it did.
CREATE INDEX memberships_user ON memberships (user_id);
CREATE INDEX memberships_run ON memberships (deactivated_by_run) WHERE deactivated_by_run IS NOT NULL;
CREATE INDEX memberships_by_name ON memberships (organization_id, name_key, user_id, role, status, deactivated_reason);
CREATE INDEX memberships_by_email ON memberships (organization_id, email_key, user_id, name_key, role, status, deactivated_reason);
CREATE INDEX memberships_by_status ON memberships (organization_id, status, name_key, user_id, role, deactivated_reason);
CREATE INDEX memberships_by_role ON memberships (organization_id, role, name_key, user_id, status, deactivated_reason);
CREATE INDEX memberships_by_reason ON memberships (organization_id, deactivated_reason, name_key, user_id, role, status)
  WHERE deactivated_reason IS NOT NULL;

-- Triggers, as migrations/0023 created them (sort keys: 0008; linked members count: 0009).
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


-- 2. identities, WITHOUT ROWID.
CREATE TABLE identities_0027 AS SELECT * FROM identities;
DROP TABLE identities;

CREATE TABLE identities (
  provider     TEXT NOT NULL CHECK (provider IN ('microsoft', 'google')),
  issuer_key   TEXT NOT NULL,
  subject      TEXT NOT NULL,
  user_id      TEXT NOT NULL REFERENCES users (id),
  email        TEXT,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (provider, issuer_key, subject)
) WITHOUT ROWID;

INSERT INTO identities (provider, issuer_key, subject, user_id, email, created_at)
SELECT provider, issuer_key, subject, user_id, email, created_at FROM identities_0027;
DROP TABLE identities_0027;

CREATE INDEX identities_user_tenant ON identities (user_id, provider, issuer_key, subject, created_at);

CREATE TRIGGER identities_linked_count_insert AFTER INSERT ON identities
WHEN NEW.provider = 'microsoft'
  AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.user_id = NEW.user_id AND i.provider = 'microsoft' AND i.issuer_key = NEW.issuer_key AND i.subject <> NEW.subject)
BEGIN
  UPDATE entra_connections SET linked_active_members = linked_active_members + 1
  WHERE tenant_id = NEW.issuer_key
    AND EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = entra_connections.organization_id AND m.user_id = NEW.user_id AND m.status = 'active');
END;

CREATE TRIGGER identities_linked_count_delete AFTER DELETE ON identities
WHEN OLD.provider = 'microsoft'
  AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.user_id = OLD.user_id AND i.provider = 'microsoft' AND i.issuer_key = OLD.issuer_key)
BEGIN
  UPDATE entra_connections SET linked_active_members = linked_active_members - 1
  WHERE tenant_id = OLD.issuer_key
    AND EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = entra_connections.organization_id AND m.user_id = OLD.user_id AND m.status = 'active');
END;

CREATE TRIGGER identities_linked_count_update AFTER UPDATE OF provider, issuer_key, user_id ON identities
WHEN OLD.provider IS NOT NEW.provider OR OLD.issuer_key IS NOT NEW.issuer_key OR OLD.user_id IS NOT NEW.user_id
BEGIN
  UPDATE entra_connections SET linked_active_members = linked_active_members - 1
  WHERE OLD.provider = 'microsoft' AND tenant_id = OLD.issuer_key
    AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.user_id = OLD.user_id AND i.provider = 'microsoft' AND i.issuer_key = OLD.issuer_key)
    AND EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = entra_connections.organization_id AND m.user_id = OLD.user_id AND m.status = 'active');
  UPDATE entra_connections SET linked_active_members = linked_active_members + 1
  WHERE NEW.provider = 'microsoft' AND tenant_id = NEW.issuer_key
    AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.user_id = NEW.user_id AND i.provider = 'microsoft' AND i.issuer_key = NEW.issuer_key AND i.subject <> NEW.subject)
    AND EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = entra_connections.organization_id AND m.user_id = NEW.user_id AND m.status = 'active');
END;

PRAGMA defer_foreign_keys = off;
