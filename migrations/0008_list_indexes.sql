-- Lists that stay cheap at 100k members: the Users page (search, filters, keyset pages), the
-- audit log and the sync run history. Each page is one statement whose rows read grow with the
-- page size, never with the organization.
--
-- The Users page sorts an organization's members by name and searches name or email prefixes.
-- Names and emails live in `users`, which is shared by every organization, while the
-- organization lives in `memberships`: no index can hold both unless the membership carries a
-- copy of the sort keys. `name_key` and `email_key` are that copy (SQLite's lower(), which folds
-- ASCII only; searches fold with the same function). Triggers keep them equal to the user's row
-- whoever writes it: an insert that leaves them NULL gets them filled, and a renamed user or a
-- changed email is copied to every membership.
ALTER TABLE memberships ADD COLUMN name_key TEXT;
ALTER TABLE memberships ADD COLUMN email_key TEXT;

UPDATE memberships SET
  name_key = (SELECT lower(display_name) FROM users WHERE users.id = memberships.user_id),
  email_key = (SELECT lower(email) FROM users WHERE users.id = memberships.user_id);

CREATE TRIGGER memberships_sort_keys AFTER INSERT ON memberships
WHEN NEW.name_key IS NULL
BEGIN
  UPDATE memberships SET
    name_key = (SELECT lower(display_name) FROM users WHERE users.id = NEW.user_id),
    email_key = (SELECT lower(email) FROM users WHERE users.id = NEW.user_id)
  WHERE organization_id = NEW.organization_id AND user_id = NEW.user_id;
END;

CREATE TRIGGER users_sort_keys AFTER UPDATE OF display_name, email ON users
WHEN OLD.display_name IS NOT NEW.display_name OR OLD.email IS NOT NEW.email
BEGIN
  UPDATE memberships SET name_key = lower(NEW.display_name), email_key = lower(NEW.email)
  WHERE user_id = NEW.id;
END;

-- Each list index starts with the organization and holds the page's order (the name key, then the
-- user id) after what it filters on, and carries what a page shows of a membership (role,
-- status, reason), so a page is read from the index alone ("COVERING INDEX" in EXPLAIN).
-- The whole list and name-prefix search:
CREATE INDEX memberships_by_name ON memberships (organization_id, name_key, user_id, role, status, deactivated_reason);
-- Email-prefix search; name_key rides along so a member the name range lists too is skipped
-- without reading the table:
CREATE INDEX memberships_by_email ON memberships (organization_id, email_key, user_id, name_key, role, status, deactivated_reason);
-- The filters, each in name order: Active / Deactivated, a role, and the two reasons (only
-- deactivated memberships are in that one):
CREATE INDEX memberships_by_status ON memberships (organization_id, status, name_key, user_id, role, deactivated_reason);
CREATE INDEX memberships_by_role ON memberships (organization_id, role, name_key, user_id, status, deactivated_reason);
CREATE INDEX memberships_by_reason ON memberships (organization_id, deactivated_reason, name_key, user_id, role, status)
  WHERE deactivated_reason IS NOT NULL;

-- Run history pages by (started_at desc, id desc): the id breaks ties between runs started in the
-- same millisecond. It replaces sync_runs_org, whose columns are its prefix.
DROP INDEX sync_runs_org;
CREATE INDEX sync_runs_org_started ON sync_runs (organization_id, started_at, id);
