-- Schema version 2: consumer leases.
-- One active runner per consumer name
-- across processes. A holder renews expires_at (µs since the epoch) well
-- before it passes; another may take the row once it has. Version 3 adds
-- generation (0003_lease_generations.sql).
CREATE TABLE IF NOT EXISTS disco_leases (
    name       TEXT    PRIMARY KEY,
    owner      BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
