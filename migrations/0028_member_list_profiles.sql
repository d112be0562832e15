-- Issue 19, the Users page at 100k members with the directory profile (Department, Job title, and
-- the department and office filters) within 200 rows read a page.
--
-- 1. What a page shows of the profile rides on the users row it reads anyway. A page read the
--    users row, member_profiles and (for Owners and Admins) role_decisions for each of its 51
--    members: 204 rows for the first page. department/job_title are copied to users by the
--    triggers below, with the organization whose profile they are (profile_organization_id): the
--    list shows them only to that organization, so a person who is a member elsewhere never shows
--    one organization's directory to another. The member page still reads member_profiles.
ALTER TABLE users ADD COLUMN department TEXT;
ALTER TABLE users ADD COLUMN job_title TEXT;
ALTER TABLE users ADD COLUMN profile_organization_id TEXT;

UPDATE users SET
  department = p.department,
  job_title = p.job_title,
  profile_organization_id = p.organization_id
FROM (SELECT user_id, department, job_title, organization_id, max(updated_at) FROM member_profiles GROUP BY user_id) p
WHERE users.id = p.user_id;

CREATE TRIGGER member_profiles_shown_insert AFTER INSERT ON member_profiles
BEGIN
  UPDATE users SET department = NEW.department, job_title = NEW.job_title, profile_organization_id = NEW.organization_id
  WHERE id = NEW.user_id;
END;

CREATE TRIGGER member_profiles_shown_update AFTER UPDATE OF department, job_title ON member_profiles
WHEN OLD.department IS NOT NEW.department OR OLD.job_title IS NOT NEW.job_title
BEGIN
  UPDATE users SET department = NEW.department, job_title = NEW.job_title, profile_organization_id = NEW.organization_id
  WHERE id = NEW.user_id;
END;

-- 2. A profile filter with the role and status filters is a few ranges of one index: member_profiles
--    carries the membership's role and standing ('active', or why it was deactivated:
--    memberships.deactivated_reason), kept by the triggers below, and each index has them after its
--    filter keys and before the list's (name, user id) order. A page merges the ranges the filters
--    leave open in that order and stops at its LIMIT (src/db/memberListProfiles.ts). D1 allows 5
--    terms in a compound SELECT, so each filter key has two indexes: by standing (no role filter:
--    one range per standing listed, at most 5) and by role then standing (a role: one range per
--    standing listed, at most 5). Before, a department's entries were read until enough of them had
--    the role and status asked for: 20,005 rows for the by-hand deactivated of a department of
--    10,000, 7.8 million for four filters at once.
ALTER TABLE member_profiles ADD COLUMN role TEXT CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer'));
ALTER TABLE member_profiles ADD COLUMN standing TEXT CHECK (standing IN ('active', 'by_hand', 'directory_sync', 'scim', 'left_scope'));

UPDATE member_profiles SET role = m.role, standing = coalesce(m.deactivated_reason, 'active')
FROM memberships m
WHERE m.organization_id = member_profiles.organization_id AND m.user_id = member_profiles.user_id;

-- A directory run's INSERT names both (src/db/memberProfiles.ts); any other writer's row gets them here.
CREATE TRIGGER member_profiles_standing_insert AFTER INSERT ON member_profiles
WHEN NEW.role IS NULL
BEGIN
  UPDATE member_profiles SET (role, standing) = (
    SELECT m.role, coalesce(m.deactivated_reason, 'active') FROM memberships m
    WHERE m.organization_id = NEW.organization_id AND m.user_id = NEW.user_id)
  WHERE organization_id = NEW.organization_id AND user_id = NEW.user_id;
END;

-- Whoever changes a role or a standing (by hand, a run, SCIM, an Undo): one primary-key probe,
-- nothing when the member has no profile. A later rebuild of memberships must create it again.
CREATE TRIGGER memberships_profile_standing AFTER UPDATE OF role, status, deactivated_reason ON memberships
WHEN OLD.role IS NOT NEW.role OR OLD.deactivated_reason IS NOT NEW.deactivated_reason
BEGIN
  UPDATE member_profiles SET role = NEW.role, standing = coalesce(NEW.deactivated_reason, 'active')
  WHERE organization_id = NEW.organization_id AND user_id = NEW.user_id;
END;

DROP INDEX member_profiles_by_department;
DROP INDEX member_profiles_by_office;
CREATE INDEX member_profiles_by_department ON member_profiles (organization_id, department_key, standing, name_key, user_id);
CREATE INDEX member_profiles_by_department_role ON member_profiles (organization_id, department_key, role, standing, name_key, user_id);
CREATE INDEX member_profiles_by_office ON member_profiles (organization_id, office_key, standing, name_key, user_id);
CREATE INDEX member_profiles_by_office_role ON member_profiles (organization_id, office_key, role, standing, name_key, user_id);
CREATE INDEX member_profiles_by_department_office
  ON member_profiles (organization_id, department_key, office_key, standing, name_key, user_id);
CREATE INDEX member_profiles_by_department_office_role
  ON member_profiles (organization_id, department_key, office_key, role, standing, name_key, user_id);

-- 3. The role filter with a deactivated status, without a profile filter: memberships_by_role's
--    entries were read until enough of them were deactivated for that reason (14,344 rows for the
--    Managers deactivated by hand at 100k members). A partial index of deactivated members only (a
--    write costs it nothing until someone is deactivated), one range per reason listed.
CREATE INDEX memberships_by_role_reason ON memberships (organization_id, role, deactivated_reason, name_key, user_id, status)
  WHERE deactivated_reason IS NOT NULL;

-- 4. Real-time reads count role lowerings together (issue 19), as they count deactivations (issue
--    18): a lowering a person applied from a held list is theirs, not a read's, so it does not count
--    (was_held), and a read finds the list on hold (if any) from a partial index of held rows.
ALTER TABLE run_role_changes ADD COLUMN was_held INTEGER NOT NULL DEFAULT 0 CHECK (was_held IN (0, 1));
UPDATE run_role_changes SET was_held = 1 WHERE state IN ('held', 'dismissed');
CREATE INDEX run_role_changes_held ON run_role_changes (organization_id, decided_at, run_id) WHERE state = 'held';

-- 5. Role change lists are pruned with the other run history (src/db/retention.ts): a month after
--    they were decided, oldest first, but for a list on hold.
CREATE INDEX run_role_changes_decided ON run_role_changes (decided_at) WHERE state <> 'held';
