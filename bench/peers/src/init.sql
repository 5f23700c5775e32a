-- postgres-es 0.5's tables (its db/init.sql), in the run's schema.
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          json                                 NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);
-- The floor of disco's schema, for the raw-schema side: an event row with
-- disco's keys (a global position, a unique event id, a unique stream and
-- version) and its stream's row, as disco-store-postgres's migrations make
-- them.
CREATE SEQUENCE disco_position;
CREATE TABLE disco_events
(
    position    bigint PRIMARY KEY,
    stream_id   text COLLATE "C" NOT NULL,
    version     bigint NOT NULL,
    event_id    uuid   NOT NULL UNIQUE,
    event_type  text   NOT NULL,
    data        bytea  NOT NULL,
    metadata    bytea  NOT NULL,
    recorded_at bigint NOT NULL,
    UNIQUE (stream_id, version)
);
CREATE TABLE disco_streams
(
    stream_id text COLLATE "C" PRIMARY KEY,
    version   bigint   NOT NULL,
    state     smallint NOT NULL
);
