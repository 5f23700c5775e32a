CREATE TABLE IF NOT EXISTS disco_projection_partitions (
    name            TEXT    NOT NULL,
    generation      INTEGER NOT NULL,
    partition_count INTEGER NOT NULL,
    partition_index INTEGER NOT NULL,
    position        INTEGER NOT NULL,
    current         INTEGER NOT NULL,
    previous        INTEGER NOT NULL,
    claim           TEXT,
    token           INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (name, generation, partition_count, partition_index)
)
