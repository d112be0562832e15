-- Right with real tenants (connect flow): the tenant an admin names on the Connect step, the Entra
-- role of whoever connected, and the Azure-admin setup link.

-- auth_flows holds only round trips in progress (10 minutes), so it is rebuilt rather than altered:
-- its purpose CHECK gains 'setup_consent', and a flow may name the tenant it must come back from.
DROP TABLE auth_flows;
CREATE TABLE auth_flows (
  id_hash          TEXT PRIMARY KEY,
  purpose          TEXT NOT NULL CHECK (purpose IN ('sign_in_microsoft', 'sign_in_google', 'connect_entra', 'setup_consent')),
  state            TEXT NOT NULL,
  nonce            TEXT NOT NULL,
  code_verifier    TEXT NOT NULL,
  organization_id  TEXT,
  user_id          TEXT,
  tenant_id        TEXT,              -- connect_entra: the tenant the admin named (GUID), if any
  setup_link_id    TEXT,              -- setup_consent: the setup link being used
  expires_at       INTEGER NOT NULL
);

-- Who connected, as Entra saw them: the display names of the directory roles in the ID token's
-- `wids` claim (JSON array), shown on the page. NULL when the token carried no `wids`.
ALTER TABLE entra_connections ADD COLUMN connected_by_roles TEXT;

-- A link an Owner or Admin sends to their Azure administrator, who grants tenant-wide admin consent
-- without a UniAsset account. Only the SHA-256 of its 256-bit secret is stored.
CREATE TABLE entra_setup_links (
  id                   TEXT PRIMARY KEY,
  organization_id      TEXT NOT NULL REFERENCES organizations (id),
  token_hash           TEXT NOT NULL UNIQUE,
  created_by           TEXT NOT NULL REFERENCES users (id),
  created_at           INTEGER NOT NULL,
  expires_at           INTEGER NOT NULL,
  revoked_at           INTEGER,
  used_at              INTEGER,           -- admin consent granted through it (single use)
  consented_tenant_id  TEXT,              -- the tenant Microsoft reported consent for
  last_failure         TEXT,              -- why the last attempt through it did not grant consent
  last_failure_at      INTEGER
);
CREATE INDEX entra_setup_links_org ON entra_setup_links (organization_id, created_at DESC);
