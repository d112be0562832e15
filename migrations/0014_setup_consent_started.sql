-- When the Azure administrator last left for Microsoft through a setup link. The page's POST is
-- open to anyone holding the link, so its audit event is written at most once per link per
-- 10 minutes (src/entra/setupLink.ts): reloading or scripting the button cannot grow the log.
ALTER TABLE entra_setup_links ADD COLUMN consent_started_at INTEGER;
