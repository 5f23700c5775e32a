CREATE TABLE IF NOT EXISTS disco_projection_partitions (
    name            TEXT    NOT NULL,
    generation      INTEGER NOT NULL,
    partition_count INTEGER NOT NULL,
    partition_index INTEGER NOT NULL,
    position        BIGINT  NOT NULL,
    current         BOOLEAN NOT NULL,
    previous        INTEGER NOT NULL,
    claim           TEXT,
    token           BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (name, generation, partition_count, partition_index)
)
