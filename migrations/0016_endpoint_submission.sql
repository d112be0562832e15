-- Add endpoint submitted twice (a reload of the page that shows the signing secret, a double click,
-- a retried request) adds one endpoint. The form carries a one-time token; `submission_key` is the
-- SHA-256 of the session, that token, the URL and the event types (src/events/endpoints.ts), and
-- the unique index lets the insert skip a submission already added, in the same statement that
-- checks the limit of 10. Endpoints added before this migration have none (NULLs never collide).
ALTER TABLE webhook_endpoints ADD COLUMN submission_key TEXT;
CREATE UNIQUE INDEX webhook_endpoints_submission ON webhook_endpoints (organization_id, submission_key);
