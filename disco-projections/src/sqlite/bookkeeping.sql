CREATE TABLE IF NOT EXISTS disco_projections (
    name       TEXT    NOT NULL,
    generation INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    tables     TEXT    NOT NULL DEFAULT '',
    ready      INTEGER NOT NULL DEFAULT 0,
    claim      TEXT,
    token      INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (name, generation)
)
