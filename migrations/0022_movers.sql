-- Movers (issue 19): roles and profiles follow the directory. Per-member and per-organization state
-- of its own, never new columns on memberships (the shared plan: only 0023 rebuilds memberships).
--
-- 1. Where each organization's group delta stands: the sealed @odata.deltaLink of
--    /groups/delta?$select=id,members, so a run reads only the groups whose members changed since
--    the last run (https://learn.microsoft.com/en-us/graph/api/group-delta). tenant_id: the tenant
--    the link belongs to; a link of another tenant (a reconnect to a different tenant) is ignored
--    and tracking starts again from "now".
CREATE TABLE group_delta_links (
  organization_id TEXT PRIMARY KEY REFERENCES organizations (id),
  tenant_id       TEXT NOT NULL,
  delta_link_enc  TEXT NOT NULL,
  updated_at      INTEGER NOT NULL
);

-- 2. The change-notification subscription on /groups held beside the one on users
--    (realtime_subscriptions): a member added to or removed from a group is an `updated` change of
--    the group (https://learn.microsoft.com/en-us/graph/api/resources/webhooks), so only this one
--    hears it. Its notifications are verified like the users ones (clientState sealed by the token
--    vault, looked up by Graph's id through the unique index) and start the same delta read.
CREATE TABLE group_subscriptions (
  organization_id   TEXT PRIMARY KEY REFERENCES organizations (id),
  tenant_id         TEXT NOT NULL,
  subscription_id   TEXT NOT NULL,
  client_state_enc  TEXT NOT NULL,
  expires_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX group_subscriptions_id ON group_subscriptions (subscription_id);

-- 3. The role changes a run made or held: Undo restores exactly these, and a held run's list is what
--    Apply applies. state: 'held' (the run would have lowered more roles than the hold threshold
--    allows: nothing applied until Apply), 'applied', 'dismissed', 'undone'. from_role/to_role: the
--    role before and after; deciding_group: the mapped group that decided ({id, name} JSON) or null
--    for the default role; rule: 'group' or 'default' (role_decisions' words).
CREATE TABLE run_role_changes (
  run_id          TEXT NOT NULL,
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  user_id         TEXT NOT NULL REFERENCES users (id),
  from_role       TEXT NOT NULL CHECK (from_role IN ('admin', 'manager', 'member', 'viewer')),
  to_role         TEXT NOT NULL CHECK (to_role IN ('admin', 'manager', 'member', 'viewer')),
  deciding_group  TEXT CHECK (deciding_group IS NULL OR json_valid(deciding_group)),
  rule            TEXT NOT NULL CHECK (rule IN ('group', 'default')),
  state           TEXT NOT NULL CHECK (state IN ('held', 'applied', 'dismissed', 'undone')),
  decided_at      INTEGER NOT NULL,
  PRIMARY KEY (run_id, user_id)
);
CREATE INDEX run_role_changes_org ON run_role_changes (organization_id, decided_at, run_id);

-- 4. Each linked member's work profile as the directory last said it (issue 19), read by every
--    directory run: department, job title, office, employee id, manager (the manager's Entra object
--    id) and cost center (employeeOrgData.costCenter). Display name and email stay on users (one
--    name, 0017). department_key / office_key: lower-cased copies, the Users page's filter keys,
--    with name_key (lower(users.display_name), kept by the trigger below) so a filtered page is
--    one range of one index in the list's (name, user id) order. updated_at: when the directory
--    last changed any of them ("From Microsoft Entra ID, updated …").
CREATE TABLE member_profiles (
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  user_id         TEXT NOT NULL REFERENCES users (id),
  department      TEXT,
  job_title       TEXT,
  office_location TEXT,
  employee_id     TEXT,
  manager_oid     TEXT,
  cost_center     TEXT,
  department_key  TEXT,
  office_key      TEXT,
  name_key        TEXT,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX member_profiles_by_department ON member_profiles (organization_id, department_key, name_key, user_id);
CREATE INDEX member_profiles_by_office ON member_profiles (organization_id, office_key, name_key, user_id);
CREATE TRIGGER member_profiles_name_key AFTER UPDATE OF display_name ON users
BEGIN
  UPDATE member_profiles SET name_key = lower(NEW.display_name) WHERE user_id = NEW.id;
END;
