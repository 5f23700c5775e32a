-- The raw baseline's table: the same columns and the same uniqueness as
-- disco's events table (position, stream + version, event id), nothing else.
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
-- Reads through a memory map, as the store's connections do by default.
PRAGMA mmap_size = 268435456;
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY,
    stream_id   TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    event_id    BLOB    NOT NULL,
    event_type  TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    metadata    BLOB    NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events (stream_id, version);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (event_id);
