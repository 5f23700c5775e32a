-- Version 2: the writer's one-round-trip path. Called in autocommit, so the
-- call is its transaction: it takes the schema's write lock, checks that the
-- batch's streams are as the writer believes (from what it wrote before),
-- writes every event, the streams' new versions and pg_notify, and commits
-- when it returns. When a stream is not as believed, or an event id is
-- already stored, it writes nothing and returns -1, and the writer takes the
-- careful path (lock_and_read, then write_batch) on fresh facts.
CREATE FUNCTION __SCHEMA__.append_fast(
    p_lock bigint,
    p_check_streams text[],
    p_check_versions bigint[],
    p_streams text[],
    p_versions bigint[],
    p_ids uuid[],
    p_types text[],
    p_data bytea[],
    p_metadata bytea[],
    p_recorded_at bigint[],
    p_final_streams text[],
    p_final_versions bigint[],
    p_channel text
) RETURNS bigint LANGUAGE plpgsql VOLATILE
-- Point lookups only (see lock_and_read).
SET enable_seqscan = off
AS $$
DECLARE
    v_head bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
    -- Every stream must be live at the believed version (0: no row, or a
    -- row of an empty stream that is live).
    IF EXISTS (
        SELECT 1
        FROM unnest(p_check_streams, p_check_versions) AS c (stream_id, version)
        LEFT JOIN __SCHEMA__.streams s ON s.stream_id = c.stream_id
        WHERE CASE WHEN s.stream_id IS NULL THEN c.version <> 0
                   ELSE s.state <> 0 OR s.version <> c.version END
    ) THEN
        RETURN -1;
    END IF;
    SELECT greatest(coalesce((SELECT max(e.position) FROM __SCHEMA__.events e), 0), m.value)
    INTO v_head
    FROM __SCHEMA__.meta m WHERE m.key = 'head';
    BEGIN
        INSERT INTO __SCHEMA__.events (position, stream_id, version, event_id, event_type, data, metadata, recorded_at)
        SELECT v_head + t.n, t.stream_id, t.version, t.event_id, t.event_type, t.data, t.metadata,
               coalesce(t.recorded_at, (extract(epoch FROM now()) * 1000000)::bigint)
        FROM unnest(p_streams, p_versions, p_ids, p_types, p_data, p_metadata, p_recorded_at)
             WITH ORDINALITY AS t (stream_id, version, event_id, event_type, data, metadata, recorded_at, n);
    EXCEPTION WHEN unique_violation THEN
        RETURN -1;
    END;
    INSERT INTO __SCHEMA__.streams (stream_id, version, state)
    SELECT stream_id, version, 0 FROM unnest(p_final_streams, p_final_versions) AS t (stream_id, version)
    ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, state = 0;
    PERFORM pg_notify(p_channel, (v_head + cardinality(p_ids))::text);
    RETURN v_head;
END
$$;
