-- Every object disco creates in a SQLite file, and nothing else: `disco drop`
-- leaves the application's own tables where they are. The indexes go with
-- their tables.
DROP TABLE IF EXISTS disco_meta;
DROP TABLE IF EXISTS disco_event_tags;
DROP TABLE IF EXISTS disco_events;
DROP TABLE IF EXISTS disco_streams;
DROP TABLE IF EXISTS disco_snapshots;
DROP TABLE IF EXISTS disco_checkpoints;
DROP TABLE IF EXISTS disco_leases;
PRAGMA application_id = 0;
PRAGMA user_version = 0;
