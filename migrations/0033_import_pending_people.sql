-- An apply's people waiting to be written (directory_import_people.person, migrations/0026): each
-- write step reads the next ones in object id order (src/db/directoryImports.ts listPendingPeople).
-- With Group → Role mapping on or "Only members of these groups" as the sync scope, an import holds
-- a scratch row for each member of those groups, up to 1,000,000, while at most a page's people
-- (~999) wait at a time: by the primary key, each write step scanned past every row whose person is
-- null. This index holds only the waiting ones, so a step reads about as many rows as it takes. The
-- query names it (INDEXED BY): without ANALYZE statistics SQLite may still prefer the primary key.
CREATE INDEX directory_import_people_pending ON directory_import_people (import_id, oid) WHERE person IS NOT NULL;
