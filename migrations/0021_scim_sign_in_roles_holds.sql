-- SCIM provisioning, the rest of issue 21: what sign-in links a SCIM-provisioned member by, SCIM
-- groups in the group → role mapping, and the hold on a burst of deactivations.

-- What sign-in links a pushed User by (src/signin/scimLink.ts states the rule): the email UniAsset
-- knows them by (lower-cased) and the Microsoft Entra object id when the provider sent one (Entra's
-- provisioning maps objectId to externalId). Looked up across organizations by the sign-in's one
-- read batch, so each has an index of its own.
ALTER TABLE scim_users ADD COLUMN email_key TEXT;
ALTER TABLE scim_users ADD COLUMN entra_object_id TEXT;
UPDATE scim_users SET email_key = (SELECT lower(u.email) FROM users u WHERE u.id = scim_users.user_id);
UPDATE scim_users SET entra_object_id = lower(external_id)
WHERE external_id GLOB '[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]-[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]-[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]-[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]-[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]';
CREATE INDEX scim_users_email ON scim_users (email_key) WHERE email_key IS NOT NULL;
CREATE INDEX scim_users_entra_object ON scim_users (entra_object_id) WHERE entra_object_id IS NOT NULL;

-- Users whose role the group → role mapping must decide again, marked by the batch that changed
-- their groups (members before and after the change), cleared by the same batch once decided.
ALTER TABLE scim_users ADD COLUMN role_pending INTEGER NOT NULL DEFAULT 0 CHECK (role_pending IN (0, 1));
CREATE INDEX scim_users_role_pending ON scim_users (organization_id, user_id) WHERE role_pending = 1;

-- The organization's members as SCIM Users: Generate token (and Rotate) writes a User for every
-- member SCIM does not know yet (pushed = 0: listed, filtered, read and changed like any User), so
-- a provider matching by userName, or listing /Users to import, finds the people already there.
-- A provider's POST for such a member (by email) claims the row (pushed = 1) instead of a 409.
ALTER TABLE scim_users ADD COLUMN pushed INTEGER NOT NULL DEFAULT 1 CHECK (pushed IN (0, 1));

-- An organization's SCIM settings: the role a pushed member gets when no mapped group gives one.
CREATE TABLE scim_settings (
  organization_id  TEXT PRIMARY KEY REFERENCES organizations (id),
  default_role     TEXT NOT NULL DEFAULT 'member' CHECK (default_role IN ('admin', 'manager', 'member', 'viewer')),
  updated_at       INTEGER NOT NULL
);

-- SCIM groups mapped to a role (never owner). A mapping goes with its group.
CREATE TABLE scim_group_roles (
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  group_id         TEXT NOT NULL REFERENCES scim_groups (id),
  role             TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'member', 'viewer')),
  created_at       INTEGER NOT NULL,
  PRIMARY KEY (organization_id, group_id)
);

-- The provider's deactivations of the last 24 hours (the hold threshold counts them) and the ones
-- held for an Owner's or Admin's Apply (held = 1: the member is still active). A row older than
-- 24 hours and not held is pruned by the next deactivation, a range of the first index.
CREATE TABLE scim_deprovisions (
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  user_id          TEXT NOT NULL REFERENCES users (id),
  requested_at     INTEGER NOT NULL,
  held             INTEGER NOT NULL CHECK (held IN (0, 1)),
  PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX scim_deprovisions_recent ON scim_deprovisions (organization_id, requested_at);
CREATE INDEX scim_deprovisions_held ON scim_deprovisions (organization_id, requested_at) WHERE held = 1;

-- How many SCIM Users each organization has (the hold threshold's denominator), kept by triggers,
-- so a deactivation reads one row instead of counting the organization's Users.
CREATE TABLE scim_user_counts (
  organization_id  TEXT PRIMARY KEY REFERENCES organizations (id),
  users            INTEGER NOT NULL
);
INSERT INTO scim_user_counts (organization_id, users)
SELECT organization_id, count(*) FROM scim_users GROUP BY organization_id;
CREATE TRIGGER scim_user_counts_insert AFTER INSERT ON scim_users BEGIN
  INSERT INTO scim_user_counts (organization_id, users) VALUES (new.organization_id, 1)
  ON CONFLICT (organization_id) DO UPDATE SET users = users + 1;
END;
CREATE TRIGGER scim_user_counts_delete AFTER DELETE ON scim_users BEGIN
  UPDATE scim_user_counts SET users = users - 1 WHERE organization_id = old.organization_id;
END;
