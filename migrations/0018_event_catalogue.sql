-- Events are raised from TypeScript now (src/eventCatalogue.ts, insertEventsFor): each code path
-- that makes a change adds its event statement to the same D1 batch, built from the catalogue's zod
-- schemas instead of from audit_events.action strings. The triggers of 0011 would raise every event
-- a second time, so they go. The tables stay as they are.
DROP TRIGGER IF EXISTS webhook_event_member_provisioned;
DROP TRIGGER IF EXISTS webhook_event_member_deactivated;
DROP TRIGGER IF EXISTS webhook_event_member_reactivated;
DROP TRIGGER IF EXISTS webhook_event_member_role_changed;
DROP TRIGGER IF EXISTS webhook_event_sync_run;
DROP TRIGGER IF EXISTS webhook_event_connection;
DROP TRIGGER IF EXISTS webhook_event_needs_reconnect;
