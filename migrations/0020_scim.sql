-- SCIM 2.0 provisioning (issue 21): the bearer tokens an identity provider pushes with, SCIM's view
-- of the organization's people and groups, and the last requests the settings page lists.

-- A token is `scim_<id>_<secret>`; only the SHA-256 of the whole token is stored. The request finds
-- the row by id and compares hashes in constant time (src/people/scim/tokens.ts). Rotate sets the old
-- row's grace_expires_at; Revoke sets revoked_at. Rows stay for the page's history.
CREATE TABLE scim_tokens (
  id                TEXT PRIMARY KEY,
  organization_id   TEXT NOT NULL REFERENCES organizations (id),
  token_hash        TEXT NOT NULL UNIQUE,
  created_by        TEXT REFERENCES users (id),
  created_at        INTEGER NOT NULL,
  last_used_at      INTEGER,
  grace_expires_at  INTEGER,          -- set when a newer token replaced it: works until then
  revoked_at        INTEGER
);
CREATE INDEX scim_tokens_org ON scim_tokens (organization_id, created_at);

-- SCIM's view of a member: the SCIM `id` is the UniAsset user id. user_name_key is lower(user_name):
-- RFC 7643 makes userName unique and case-insensitive, so the UNIQUE index is the uniqueness check
-- (a POST that loses a race fails in its own batch). `resource` is the stored User (core and
-- enterprise attributes, src/scim/resources.ts's ScimUser); the indexed attributes are columns too.
-- owns_user: SCIM created the users row, so profile changes may rename it; a member SCIM adopted
-- (already in the organization with that email) keeps the name they had.
CREATE TABLE scim_users (
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  user_id          TEXT NOT NULL REFERENCES users (id),
  user_name        TEXT NOT NULL,
  user_name_key    TEXT NOT NULL,
  external_id      TEXT,
  active           INTEGER NOT NULL,
  owns_user        INTEGER NOT NULL,
  resource         TEXT NOT NULL CHECK (json_valid(resource)),
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  PRIMARY KEY (organization_id, user_id)
);
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (organization_id, user_name_key);
CREATE INDEX scim_users_external_id ON scim_users (organization_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE scim_groups (
  id                TEXT PRIMARY KEY,
  organization_id   TEXT NOT NULL REFERENCES organizations (id),
  display_name      TEXT NOT NULL,
  display_name_key  TEXT NOT NULL,  -- lower(display_name): `displayName eq` is case-insensitive
  external_id       TEXT,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);
CREATE INDEX scim_groups_org ON scim_groups (organization_id, id);
CREATE INDEX scim_groups_name ON scim_groups (organization_id, display_name_key);
CREATE INDEX scim_groups_external_id ON scim_groups (organization_id, external_id) WHERE external_id IS NOT NULL;

-- Members are Users of the same organization (the inserts join scim_users, which skips any other id).
CREATE TABLE scim_group_members (
  group_id         TEXT NOT NULL REFERENCES scim_groups (id),
  user_id          TEXT NOT NULL,
  organization_id  TEXT NOT NULL,
  PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
-- A deleted User leaves every group.
CREATE INDEX scim_group_members_user ON scim_group_members (organization_id, user_id);

-- The last requests the settings page lists: what, when, the answer, and a word on what changed.
-- Never a body, a filter value or a token. Each request deletes its organization's rows older than
-- 7 days: a range of the index that reads only the rows it deletes, so logging costs a request no reads.
CREATE TABLE scim_requests (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  token_id         TEXT NOT NULL,
  at               INTEGER NOT NULL,
  method           TEXT NOT NULL,
  resource         TEXT NOT NULL,
  status           INTEGER NOT NULL,
  outcome          TEXT
);
CREATE INDEX scim_requests_org ON scim_requests (organization_id, at, id);
