-- Directory sync in bounded memory, with reads in proportion to changes (issue: a 1M-user tenant).

-- Who a full run has seen, one row per Graph page: the page's object ids as sorted 64-bit hashes
-- (base64, 8 bytes a user, the lowest bit saying whether the account is enabled). The conclude
-- step decides absence from these rows instead of the Workflow holding every observation in
-- memory. `attempt` is the run's restart count: a full listing that restarts starts a new set.
-- Rows live only while their run reads; the run's last write deletes them. No foreign key:
-- pruning old runs must never be blocked by (or have to know about) these rows.
CREATE TABLE sync_run_seen (
  run_id    TEXT NOT NULL,
  attempt   INTEGER NOT NULL,
  page      INTEGER NOT NULL,
  users     INTEGER NOT NULL,          -- hashes in the row
  hashes    TEXT NOT NULL,             -- base64 of `users` little-endian uint64, ascending
  PRIMARY KEY (run_id, attempt, page)
) WITHOUT ROWID;

-- How many active members of the organization are linked to its connected tenant (a Microsoft
-- identity with issuer_key = tenant_id): the hold threshold's denominator. A delta run reads this
-- one row instead of counting the organization (6 s at 1M members, blocking sign-ins meanwhile).
-- Kept by the triggers below, in the same statement as the change: every path that adds, removes,
-- activates or deactivates a membership, adds or removes a Microsoft identity, or (re)connects a
-- tenant moves it, including paths written later and raw SQL, so no caller can forget it.
ALTER TABLE entra_connections ADD COLUMN linked_active_members INTEGER NOT NULL DEFAULT 0;

UPDATE entra_connections SET linked_active_members = (
  SELECT count(*) FROM memberships m
  WHERE m.organization_id = entra_connections.organization_id AND m.status = 'active'
    AND EXISTS (SELECT 1 FROM identities i WHERE i.user_id = m.user_id AND i.provider = 'microsoft' AND i.issuer_key = entra_connections.tenant_id));

-- A membership becomes (or stops being) active: the connection of its organization moves by one
-- when the user has an identity in that connection's tenant.
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

-- A user's first Microsoft identity in a tenant links their active membership in the organization
-- connected to that tenant (tenant_id is unique); their last one unlinks it. A second identity of
-- the same user in the same tenant changes nothing.
CREATE TRIGGER identities_linked_count_insert AFTER INSERT ON identities
WHEN NEW.provider = 'microsoft'
  AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.user_id = NEW.user_id AND i.provider = 'microsoft' AND i.issuer_key = NEW.issuer_key AND i.rowid <> NEW.rowid)
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
    AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.user_id = NEW.user_id AND i.provider = 'microsoft' AND i.issuer_key = NEW.issuer_key AND i.rowid <> NEW.rowid)
    AND EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = entra_connections.organization_id AND m.user_id = NEW.user_id AND m.status = 'active');
END;

-- Connecting a tenant (or another one) counts once, from the indexes below: rare, and the only
-- time the count reads the whole organization.
CREATE TRIGGER entra_connections_linked_count_insert AFTER INSERT ON entra_connections
BEGIN
  UPDATE entra_connections SET linked_active_members = (
    SELECT count(*) FROM memberships m
    WHERE m.organization_id = NEW.organization_id AND m.status = 'active'
      AND EXISTS (SELECT 1 FROM identities i WHERE i.user_id = m.user_id AND i.provider = 'microsoft' AND i.issuer_key = NEW.tenant_id))
  WHERE organization_id = NEW.organization_id;
END;

CREATE TRIGGER entra_connections_linked_count_tenant AFTER UPDATE OF tenant_id ON entra_connections
WHEN OLD.tenant_id IS NOT NEW.tenant_id
BEGIN
  UPDATE entra_connections SET linked_active_members = (
    SELECT count(*) FROM memberships m
    WHERE m.organization_id = NEW.organization_id AND m.status = 'active'
      AND EXISTS (SELECT 1 FROM identities i WHERE i.user_id = m.user_id AND i.provider = 'microsoft' AND i.issuer_key = NEW.tenant_id))
  WHERE organization_id = NEW.organization_id;
END;

-- Covering indexes for the sync's hot reads (EXPLAIN QUERY PLAN in docs/storage.md):
-- a full run's scan of the organization's linked members ("SEARCH m USING COVERING INDEX
-- memberships_org_standing (organization_id=? AND user_id>?)" then "SEARCH i USING COVERING INDEX
-- identities_user_tenant (user_id=? AND provider=? AND issuer_key=?)"), a delta page's look-up of
-- a member by (organization_id, user_id), and the triggers above. identities_user_tenant starts
-- with user_id, so it replaces identities_user.
CREATE INDEX memberships_org_standing ON memberships (organization_id, user_id, status, deactivated_reason, created_at);
CREATE INDEX identities_user_tenant ON identities (user_id, provider, issuer_key, subject, created_at);
DROP INDEX identities_user;
