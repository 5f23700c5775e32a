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

-- 'head': the highest position as of the last hard delete. Batches do not
-- write it (the head is also max(position) of events), so a batch updates
-- one hot row less; a hard delete records it first, so removing the newest
-- events never lowers the head.
CREATE TABLE __SCHEMA__.meta (
    key   text   PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO __SCHEMA__.meta (key, value) VALUES ('head', 0);

-- The first step of a group-commit batch, in one round trip: takes the
-- schema's transaction-scoped write lock, then reads (with a fresh snapshot,
-- which a VOLATILE function's query gets, so it includes the commit of the
-- previous lock holder) the head, the state of the batch's streams and where
-- its event ids already sit. kind 0: the head (in position); 1: a stream;
-- 2: a stored event id.
CREATE FUNCTION __SCHEMA__.lock_and_read(p_lock bigint, p_streams text[], p_ids uuid[])
RETURNS TABLE (
    r_kind smallint,
    r_stream_id text,
    r_version bigint,
    r_state smallint,
    r_event_id uuid,
    r_position bigint
) LANGUAGE plpgsql VOLATILE
-- Every lookup here is a point lookup on a unique index. Without this, a plan
-- cached while the schema was empty scans the events table, and each batch is
-- slower than the one before; planning each call instead costs a share of
-- every batch.
SET enable_seqscan = off
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
    RETURN QUERY
        SELECT 0::smallint, NULL::text, NULL::bigint, NULL::smallint, NULL::uuid,
               greatest(coalesce((SELECT max(e.position) FROM __SCHEMA__.events e), 0), m.value)
        FROM __SCHEMA__.meta m WHERE m.key = 'head'
        UNION ALL
        SELECT 1::smallint, s.stream_id::text, s.version, s.state, NULL::uuid, NULL::bigint
        FROM __SCHEMA__.streams s WHERE s.stream_id = ANY(p_streams)
        UNION ALL
        SELECT 2::smallint, e.stream_id::text, e.version, NULL::smallint, e.event_id, e.position
        FROM __SCHEMA__.events e WHERE e.event_id = ANY(p_ids);
END
$$;
