-- Why a member has the role they have: the last group → role decision made at their sign-in or
-- import, shown as "Why this role" on the Users page.
CREATE TABLE role_decisions (
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  user_id          TEXT NOT NULL REFERENCES users (id),
  role             TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
  rule             TEXT NOT NULL CHECK (rule IN ('group', 'default', 'owner_kept', 'graph_failed')),
  matched_groups   TEXT NOT NULL DEFAULT '[]',  -- JSON [{id, name, role}] of mapped groups the user is in
  deciding_group   TEXT,                         -- JSON {id, name} of the group whose role won
  graph_read_at    INTEGER,                      -- when Graph was read (NULL when it failed)
  decided_at       INTEGER NOT NULL,
  PRIMARY KEY (organization_id, user_id)
);
