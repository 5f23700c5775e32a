-- Every object disco creates in its schema, and nothing else (indexes go with
-- their tables). Never CASCADE: an application object that depends on one of
-- these (a view over events) makes the drop fail instead of vanishing.
DROP FUNCTION IF EXISTS __SCHEMA__.append_fast;
DROP FUNCTION IF EXISTS __SCHEMA__.lock_and_read;
DROP TABLE IF EXISTS __SCHEMA__.event_tags, __SCHEMA__.events, __SCHEMA__.streams, __SCHEMA__.snapshots,
    __SCHEMA__.checkpoints, __SCHEMA__.meta, __SCHEMA__.lease_generations,
    __SCHEMA__.disco_migrations
