-- Issue 18: two limits that must hold under any concurrency and whatever is deleted.
--
-- 1. At most one open setup link per organization. A new link revokes the open one in the same
--    batch that inserts it (src/entra/setupLink.ts); this partial unique index makes it the
--    database's rule as well, so no interleaving can leave two links answering. "Open" is what
--    the revoke matches: neither revoked nor used (an expired link is revoked by the next one).
--    Links left open side by side before this migration keep only the newest.
UPDATE entra_setup_links SET revoked_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000
WHERE revoked_at IS NULL AND used_at IS NULL
  AND EXISTS (
    SELECT 1 FROM entra_setup_links newer
    WHERE newer.organization_id = entra_setup_links.organization_id
      AND newer.revoked_at IS NULL AND newer.used_at IS NULL
      AND (newer.created_at, newer.id) > (entra_setup_links.created_at, entra_setup_links.id));
CREATE UNIQUE INDEX entra_setup_links_open ON entra_setup_links (organization_id) WHERE revoked_at IS NULL AND used_at IS NULL;

-- 2. Send test event and Redeliver: one per organization and receiving URL every 10 seconds
--    (src/db/webhooks.ts, takeManualSendSlot). The pace lived on the endpoint row, so deleting the
--    endpoint and adding it again started afresh (six signed POSTs in 5.9 s). It lives here now,
--    keyed by the URL without its query and fragment (the same receiver whatever query it is
--    given). webhook_endpoints.manual_send_at is no longer read or written. The nightly pruning
--    deletes rows older than a day.
CREATE TABLE webhook_manual_sends (
  organization_id  TEXT NOT NULL,
  url_key          TEXT NOT NULL,
  sent_at          INTEGER NOT NULL,
  PRIMARY KEY (organization_id, url_key)
);
CREATE INDEX webhook_manual_sends_sent ON webhook_manual_sends (sent_at);
