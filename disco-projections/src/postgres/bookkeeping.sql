CREATE TABLE IF NOT EXISTS disco_projections (
    name       TEXT    NOT NULL,
    generation INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    position   BIGINT  NOT NULL DEFAULT 0,
    tables     TEXT    NOT NULL DEFAULT '',
    ready      BOOLEAN NOT NULL DEFAULT false,
    claim      TEXT,
    token      BIGINT  NOT NULL DEFAULT 0,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (name, generation)
)
