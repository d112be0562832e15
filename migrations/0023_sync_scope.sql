-- Joiners and scope (issue 20).
--
-- 1. memberships.deactivated_reason gains 'left_scope': a linked member who left the sync scope
--    (removed from the scope's groups, or in a domain no longer chosen), deactivated by directory
--    sync with every leaver's rule. SQLite cannot change a CHECK in place, so memberships is rebuilt
--    as migrations/0017 rebuilt it: copied aside, dropped, created again with the same columns in the
--    same order, filled back, then every index and trigger 0017 created is created again exactly
--    (checked against sqlite_master before and after: same names, same SQL). Dropping a table fires
--    none of its triggers, and the triggers are created only after the rows are back, so
--    linked_active_members and the sort keys are left as they were.
-- 2. The sync scope: who the directory brings in. One row per organization that chose (absent: the
--    default, everyone in the chosen domains), its chosen groups (at most 50, checked by the app),
--    and the tenant's verified domains, each chosen or not and marked new when a run found it.
-- 3. Existing connections keep what they accept today: every verified domain they stored is chosen.
-- 4. sync_runs.added: the people a run added (Add new people automatically), for the run history.
-- 5. sync_held_joiners: the people a run would have added, held by the threshold until Apply or Dismiss.
PRAGMA defer_foreign_keys = on;

CREATE TABLE memberships_0023 AS SELECT * FROM memberships;
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
);

INSERT INTO memberships (organization_id, user_id, role, status, deactivated_reason, deactivated_at, deactivated_by_run, created_at,
  name_key, email_key)
SELECT organization_id, user_id, role, status, deactivated_reason, deactivated_at, deactivated_by_run, created_at, name_key, email_key
FROM memberships_0023;
DROP TABLE memberships_0023;

-- Indexes, as migrations/0017 created them (the reasons are in 0001, 0003, 0008 and 0009).
CREATE INDEX memberships_user ON memberships (user_id);
CREATE INDEX memberships_run ON memberships (deactivated_by_run) WHERE deactivated_by_run IS NOT NULL;
CREATE INDEX memberships_by_name ON memberships (organization_id, name_key, user_id, role, status, deactivated_reason);
CREATE INDEX memberships_by_email ON memberships (organization_id, email_key, user_id, name_key, role, status, deactivated_reason);
CREATE INDEX memberships_by_status ON memberships (organization_id, status, name_key, user_id, role, deactivated_reason);
CREATE INDEX memberships_by_role ON memberships (organization_id, role, name_key, user_id, status, deactivated_reason);
CREATE INDEX memberships_by_reason ON memberships (organization_id, deactivated_reason, name_key, user_id, role, status)
  WHERE deactivated_reason IS NOT NULL;
CREATE INDEX memberships_org_standing ON memberships (organization_id, user_id, status, deactivated_reason, created_at);

-- Triggers, as migrations/0017 created them (sort keys: 0008; linked members count: 0009).
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

PRAGMA defer_foreign_keys = off;

-- 2. The sync scope.
CREATE TABLE sync_scopes (
  organization_id  TEXT PRIMARY KEY REFERENCES organizations (id),
  -- 'domains': everyone enabled in the chosen domains (the default); 'groups': only members of
  -- sync_scope_groups (nested groups count), in the chosen domains too.
  mode             TEXT NOT NULL DEFAULT 'domains' CHECK (mode IN ('domains', 'groups')),
  -- "Add new people automatically" (Import page): every run adds each enabled person in scope who is not a member yet.
  add_new_people   INTEGER NOT NULL DEFAULT 0 CHECK (add_new_people IN (0, 1)),
  updated_at       INTEGER NOT NULL,
  updated_by       TEXT REFERENCES users (id)
);

CREATE TABLE sync_scope_groups (
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  group_id         TEXT NOT NULL,     -- the Entra group's object id
  display_name     TEXT NOT NULL,     -- as Graph named it when chosen (the page shows it)
  PRIMARY KEY (organization_id, group_id)
);

CREATE TABLE sync_scope_domains (
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  name             TEXT NOT NULL,     -- lower case, as /organization's verifiedDomains names it
  chosen           INTEGER NOT NULL CHECK (chosen IN (0, 1)),
  -- Found by a run's refresh after the connection was made: shown "new" and left unchosen until an Owner or Admin decides.
  is_new           INTEGER NOT NULL DEFAULT 0 CHECK (is_new IN (0, 1)),
  -- The tenant's initial *.onmicrosoft.com domain (isInitial): a new connection leaves it unchosen.
  is_initial       INTEGER NOT NULL DEFAULT 0 CHECK (is_initial IN (0, 1)),
  PRIMARY KEY (organization_id, name)
);

-- 3. What existing connections accept today: every verified domain they stored.
INSERT OR IGNORE INTO sync_scope_domains (organization_id, name, chosen, is_new, is_initial)
SELECT c.organization_id, lower(d.value), 1, 0, CASE WHEN lower(d.value) GLOB '*.onmicrosoft.com' THEN 1 ELSE 0 END
FROM entra_connections c, json_each(c.verified_domains) d
WHERE c.verified_domains IS NOT NULL AND json_valid(c.verified_domains);

-- 4. The people a run added (joiners), beside what it deactivated and reactivated.
ALTER TABLE sync_runs ADD COLUMN added INTEGER NOT NULL DEFAULT 0;

-- 5. A run's additions held by the hold threshold (Add new people automatically): who, as the run
--    decided them (object id, name, email, role and why), until an Owner or Admin applies or
--    dismisses them. A later run's hold replaces the list.
CREATE TABLE sync_held_joiners (
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  oid              TEXT NOT NULL,
  run_id           TEXT NOT NULL,
  person           TEXT NOT NULL CHECK (json_valid(person)),
  PRIMARY KEY (organization_id, oid)
);
