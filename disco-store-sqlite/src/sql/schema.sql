-- The disco schema as of version 2 (version 1 lacked disco_leases). Applied in
-- one transaction when a file is created or upgraded (every statement is
-- idempotent), followed by the numbered migrations above the version found
-- (migrate_3.sql, ...);
-- PRAGMA user_version records the version, PRAGMA application_id marks the file
-- as disco's.

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

-- Consumer leases (schema version 2): one active runner per consumer name
-- across processes. A holder renews expires_at (µs since the epoch) well
-- before it passes; another may take the row once it has. Version 3 adds
-- generation (migrate_3.sql).
CREATE TABLE IF NOT EXISTS disco_leases (
    name       TEXT    PRIMARY KEY,
    owner      BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
