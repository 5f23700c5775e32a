-- Step two of a batch, one round trip: every event, its tags' index
-- entries, the streams' new versions, and pg_notify of the new head ($11),
-- all in the batch's transaction (so listeners hear of the commit only once
-- it happened). Every value is bound. $1 the positions; $2..$8 the event
-- columns in the order `bind_event_columns!` binds them (writer.rs), $8
-- holding imported times (NULL: the commit's); $13 the events' stored tags;
-- $14, $15 one (tag, position) per tag of the batch.
WITH inserted AS (
    INSERT INTO __SCHEMA__.events (position, stream_id, version, event_id, event_type, data, metadata, recorded_at, tags)
    SELECT position, stream_id, version, event_id, event_type, data, metadata,
           coalesce(recorded_at, (extract(epoch FROM now()) * 1000000)::bigint), tags
    FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::bytea[], $7::bytea[], $8::bigint[], $13::text[])
         AS t (position, stream_id, version, event_id, event_type, data, metadata, recorded_at, tags)
    RETURNING 1
), tagged AS (
    INSERT INTO __SCHEMA__.event_tags (tag, position)
    SELECT tag, position FROM unnest($14::text[], $15::bigint[]) AS t (tag, position)
    RETURNING 1
), upserted AS (
    INSERT INTO __SCHEMA__.streams (stream_id, version, state)
    SELECT stream_id, version, 0 FROM unnest($9::text[], $10::bigint[]) AS t (stream_id, version)
    ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, state = 0
    RETURNING 1
)
SELECT pg_notify($12, $11::bigint::text)
