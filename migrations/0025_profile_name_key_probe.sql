-- Issue 19, full sync at 1M members: 0022's trigger kept a profile's name_key with
-- `WHERE user_id = NEW.id`, which no index of member_profiles leads with (its key is
-- (organization_id, user_id)), so every rename scanned every kept profile. A first run that renames
-- a large tenant's members read O(members²) rows and did not finish. The same update now reaches
-- the profile rows through the user's memberships (memberships_user) and then member_profiles' own
-- primary key: one probe per organization the user belongs to.
DROP TRIGGER member_profiles_name_key;
CREATE TRIGGER member_profiles_name_key AFTER UPDATE OF display_name ON users
WHEN OLD.display_name IS NOT NEW.display_name
BEGIN
  UPDATE member_profiles SET name_key = lower(NEW.display_name)
  WHERE organization_id IN (SELECT organization_id FROM memberships WHERE user_id = NEW.id) AND user_id = NEW.id;
END;
