-- The identity edge's data model. docs/storage.md describes every table and what is encrypted.
-- Times are Unix epoch milliseconds (INTEGER); ids are random UUIDs unless an external id is the key.

CREATE TABLE organizations (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  plan        TEXT NOT NULL CHECK (plan IN ('free', 'team', 'enterprise')),
  created_at  INTEGER NOT NULL
);

CREATE TABLE users (
  id                TEXT PRIMARY KEY,
  email             TEXT,            -- lower-cased; informational, never a sign-in key
  display_name      TEXT NOT NULL,
  created_at        INTEGER NOT NULL,
  last_sign_in_at   INTEGER          -- NULL: imported or invited, "Not signed in yet"
);
CREATE INDEX users_email ON users (email);

-- A sign-in method. Microsoft: issuer_key = tenant id (tid), subject = object id (oid).
-- Google: issuer_key = 'google', subject = sub. Never keyed by email.
CREATE TABLE identities (
  provider     TEXT NOT NULL CHECK (provider IN ('microsoft', 'google')),
  issuer_key   TEXT NOT NULL,
  subject      TEXT NOT NULL,
  user_id      TEXT NOT NULL REFERENCES users (id),
  email        TEXT,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (provider, issuer_key, subject)
);
CREATE INDEX identities_user ON identities (user_id);

CREATE TABLE memberships (
  organization_id     TEXT NOT NULL REFERENCES organizations (id),
  user_id             TEXT NOT NULL REFERENCES users (id),
  role                TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
  status              TEXT NOT NULL CHECK (status IN ('active', 'deactivated')),
  deactivated_reason  TEXT CHECK (deactivated_reason IN ('manual', 'directory_sync')),
  deactivated_at      INTEGER,
  deactivated_by_run  TEXT,           -- sync run that deactivated the member, for undo
  created_at          INTEGER NOT NULL,
  PRIMARY KEY (organization_id, user_id),
  CHECK ((status = 'active') = (deactivated_reason IS NULL))
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE invitations (
  id               TEXT PRIMARY KEY,
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  email            TEXT NOT NULL,     -- lower-cased
  role             TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
  invited_by       TEXT REFERENCES users (id),
  created_at       INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL,
  accepted_at      INTEGER,
  revoked_at       INTEGER
);
-- At most one open invitation per address and organization.
CREATE UNIQUE INDEX invitations_open ON invitations (organization_id, email)
  WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_email ON invitations (email);

-- Only the SHA-256 of the session token is stored; the token lives in the __Host- cookie.
CREATE TABLE sessions (
  token_hash        TEXT PRIMARY KEY,
  user_id           TEXT NOT NULL REFERENCES users (id),
  organization_id   TEXT NOT NULL REFERENCES organizations (id),
  created_at        INTEGER NOT NULL,
  last_seen_at      INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL   -- absolute expiry
);
CREATE INDEX sessions_user ON sessions (user_id);

-- One pending OAuth round trip (sign-in or Entra connection). The browser holds a random id in a
-- cookie; the row holds state, nonce and PKCE verifier. Deleted when the callback arrives.
CREATE TABLE auth_flows (
  id_hash          TEXT PRIMARY KEY,
  purpose          TEXT NOT NULL CHECK (purpose IN ('sign_in_microsoft', 'sign_in_google', 'connect_entra')),
  state            TEXT NOT NULL,
  nonce            TEXT NOT NULL,
  code_verifier    TEXT NOT NULL,
  organization_id  TEXT,
  user_id          TEXT,
  expires_at       INTEGER NOT NULL
);

CREATE TABLE entra_connections (
  organization_id            TEXT PRIMARY KEY REFERENCES organizations (id),
  status                     TEXT NOT NULL CHECK (status IN ('connected', 'failed', 'needs_reconnect')),
  tenant_id                  TEXT UNIQUE,
  tenant_name                TEXT,
  verified_domains           TEXT,       -- JSON array of domain names
  default_domain             TEXT,
  connected_by               TEXT REFERENCES users (id),
  connected_at               INTEGER,
  failure_reason             TEXT,       -- a code from the closed set in src/entra/connectionErrors.ts
  refresh_token_enc          TEXT,       -- token vault ciphertext
  access_token_enc           TEXT,       -- token vault ciphertext
  access_token_expires_at    INTEGER,
  delta_link_enc             TEXT,       -- token vault ciphertext
  auto_provision             INTEGER NOT NULL DEFAULT 0,
  auto_deprovision           INTEGER NOT NULL DEFAULT 0,
  group_role_mapping         INTEGER NOT NULL DEFAULT 0,
  default_role               TEXT NOT NULL DEFAULT 'member' CHECK (default_role IN ('admin', 'manager', 'member', 'viewer')),
  hold_threshold_percent     INTEGER NOT NULL DEFAULT 10,
  hold_threshold_minimum     INTEGER NOT NULL DEFAULT 5,
  updated_at                 INTEGER NOT NULL
);

CREATE TABLE group_role_mappings (
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  group_id         TEXT NOT NULL,       -- Entra group object id
  group_name       TEXT NOT NULL,       -- refreshed from Graph when seen
  role             TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'member', 'viewer')),
  created_at       INTEGER NOT NULL,
  PRIMARY KEY (organization_id, group_id)
);

CREATE TABLE sync_runs (
  id                 TEXT PRIMARY KEY,
  organization_id    TEXT NOT NULL REFERENCES organizations (id),
  trigger            TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'preview')),
  mode               TEXT CHECK (mode IN ('full', 'delta')),
  status             TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'held', 'applied', 'dismissed', 'previewed')),
  started_at         INTEGER NOT NULL,
  finished_at        INTEGER,
  users_read         INTEGER NOT NULL DEFAULT 0,
  deactivated        INTEGER NOT NULL DEFAULT 0,
  reactivated        INTEGER NOT NULL DEFAULT 0,
  graph_requests     INTEGER NOT NULL DEFAULT 0,
  error              TEXT,
  pending_changes    TEXT              -- JSON: who a held or previewed run would change
);
CREATE INDEX sync_runs_org ON sync_runs (organization_id, started_at DESC);

CREATE TABLE audit_events (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  actor_user_id    TEXT REFERENCES users (id),  -- NULL: the system ("directory sync")
  action           TEXT NOT NULL,
  target_user_id   TEXT REFERENCES users (id),
  details          TEXT NOT NULL DEFAULT '{}',   -- JSON, never a token or secret
  created_at       INTEGER NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (organization_id, id DESC);
