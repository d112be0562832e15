-- Two loose ends of issues 19 and 20.
--
-- 1. The Users page's role filter with a status (issue 19: "≤ 200 rows read per page at 100k
--    members"): memberships_by_role had the status after the name, so Role + Active read the role's
--    entries in name order testing each one's status, and read far more than a page where most of a
--    role's members are deactivated. With the status before the name, Role + Active and Role +
--    Deactivated are one range each, and a role alone is two ranges (active, deactivated) merged in
--    name order (src/db/memberList.ts). Same columns, so no membership carries one entry more: only
--    their order changes (joiner_sync's rows written per joiner stay as they are).
DROP INDEX memberships_by_role;
CREATE INDEX memberships_by_role ON memberships (organization_id, role, status, name_key, user_id, deactivated_reason);

-- 2. An import, a sync scope preview or a preview of the next run that Microsoft Graph throttles
--    past the Graph client's retries sleeps (60, 300, then 900 s) and reads the page again
--    (src/entra/import/workflow.ts). Until when, so the progress it polls says why the bar stands
--    still: set when the pause starts, cleared by the next read that succeeds and by the end of the run.
ALTER TABLE directory_imports ADD COLUMN paused_until INTEGER;
