-- Schema version 1: events, streams, snapshots, checkpoints. Each numbered
-- file here takes a file from the version before it to its own; an open
-- applies, in one transaction, every file above the version PRAGMA
-- user_version records (all of them for a new file), then records the last.
-- PRAGMA application_id marks the file as disco's. A shipped file never
-- changes (tests/migrations.rs holds their checksums).

-- 'head': the highest position ever committed, as of the last hard delete.
-- Appends do not write it (the head is also max(position) of disco_events, see
-- read_head.sql), so a group commit dirties one page less.
CREATE TABLE IF NOT EXISTS disco_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO disco_meta (key, value) VALUES ('head', 0);

-- Every event; position is the rowid, assigned by the writer in commit order.
CREATE TABLE IF NOT EXISTS disco_events (
    position    INTEGER PRIMARY KEY,
    stream_id   TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    event_id    BLOB    NOT NULL,
    event_type  TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    metadata    BLOB    NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS disco_events_by_stream ON disco_events (stream_id, version);
CREATE UNIQUE INDEX IF NOT EXISTS disco_events_by_id ON disco_events (event_id);

-- One row per stream ever written or deleted. state: 0 active, 1 soft-deleted,
-- 2 hard-deleted.
CREATE TABLE IF NOT EXISTS disco_streams (
    stream_id TEXT    PRIMARY KEY,
    version   INTEGER NOT NULL,
    state     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS disco_snapshots (
    stream_id TEXT    PRIMARY KEY,
    version   INTEGER NOT NULL,
    data      BLOB    NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS disco_checkpoints (
    name     TEXT    PRIMARY KEY,
    position INTEGER NOT NULL
) WITHOUT ROWID;
