-- The raw baseline's table: the same columns and uniqueness as disco's, with
-- the position from a sequence, as a team writing plain SQL would do it.
CREATE SCHEMA __SCHEMA__;
CREATE TABLE __SCHEMA__.events (
    position    bigserial PRIMARY KEY,
    stream_id   text COLLATE "C" NOT NULL,
    version     bigint NOT NULL,
    event_id    uuid   NOT NULL UNIQUE,
    event_type  text   NOT NULL,
    data        bytea  NOT NULL,
    metadata    bytea  NOT NULL,
    recorded_at bigint NOT NULL,
    UNIQUE (stream_id, version)
);
