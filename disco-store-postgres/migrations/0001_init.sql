-- disco schema, version 1. __SCHEMA__ is replaced by the store's schema name
-- (a validated identifier, quoted). Applied by migrate() inside one
-- transaction under an advisory lock; teams with their own migration tool
-- apply this file with __SCHEMA__ replaced, then record version 1 in
-- __SCHEMA__.disco_migrations.

-- Ids and names are compared as bytes (COLLATE "C"), as in every disco store.

-- Every event. position is assigned by the writer under a per-schema advisory
-- lock held until commit, so position order is commit order.
CREATE TABLE __SCHEMA__.events (
    position    bigint  PRIMARY KEY,
    stream_id   text    COLLATE "C" NOT NULL,
    version     bigint  NOT NULL,
    event_id    uuid    NOT NULL,
    event_type  text    NOT NULL,
    data        bytea   NOT NULL,
    metadata    bytea   NOT NULL,
    recorded_at bigint  NOT NULL,
    CONSTRAINT events_stream_version UNIQUE (stream_id, version),
    CONSTRAINT events_event_id UNIQUE (event_id)
);

-- One row per stream ever written or deleted. state: 0 active,
-- 1 soft-deleted, 2 hard-deleted.
CREATE TABLE __SCHEMA__.streams (
    stream_id text     COLLATE "C" PRIMARY KEY,
    version   bigint   NOT NULL,
    state     smallint NOT NULL
);

CREATE TABLE __SCHEMA__.snapshots (
    stream_id text   COLLATE "C" PRIMARY KEY,
    version   bigint NOT NULL,
    data      bytea  NOT NULL
);

CREATE TABLE __SCHEMA__.checkpoints (
    name     text   COLLATE "C" PRIMARY KEY,
    position bigint NOT NULL
);

-- 'head': the highest position ever committed (hard deletes do not lower it).
CREATE TABLE __SCHEMA__.meta (
    key   text   PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO __SCHEMA__.meta (key, value) VALUES ('head', 0);
