-- Version 4: tags and the indexes of query reads and conditional appends
-- (Dynamic Consistency Boundaries).
-- events.tags: the event's tags in the order appended, each followed by
-- U+001F (no tag holds a control character); '' for none, which is what every
-- event stored before this version reads as (a constant default: adding the
-- column rewrites no row).
ALTER TABLE __SCHEMA__.events ADD COLUMN tags text NOT NULL DEFAULT '';

-- One row per (tag, event): the events carrying a tag, by position.
CREATE TABLE __SCHEMA__.event_tags (
    tag      text   COLLATE "C" NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (tag, position)
);

-- The events of a type, by position.
CREATE INDEX events_by_type ON __SCHEMA__.events (event_type, position);

-- The writer's one-round-trip path, now with tags and conditions (it
-- replaces version 2's): as before, plus each event's stored tags
-- (p_tags), the tag index entries (p_tag_names at the batch's event
-- ordinals p_tag_ords), and the conditions of the batch's conditional
-- appends, one row per query item: the ordinal of the append's first event
-- (p_cond_ord: only events before it count, so an append sees the ones of
-- the batch before it), the condition's position (p_cond_after), the
-- item's first tag or NULL (p_cond_tag, the index it is read by), all its
-- tags and its types as stored tags are (p_cond_tags, p_cond_types; ''
-- for none). A condition an event matches makes the call write nothing
-- and return -1, and the writer decides the batch on the careful path.
DROP FUNCTION __SCHEMA__.append_fast(bigint, text[], bigint[], text[], bigint[], uuid[], text[], bytea[], bytea[], bigint[], text[], bigint[], text);
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
    p_channel text,
    p_tags text[],
    p_tag_names text[],
    p_tag_ords bigint[],
    p_cond_ord bigint[],
    p_cond_after bigint[],
    p_cond_tag text[],
    p_cond_tags text[],
    p_cond_types text[]
) RETURNS bigint LANGUAGE plpgsql VOLATILE
-- Point lookups and index ranges only (see lock_and_read).
SET enable_seqscan = off
AS $$
DECLARE
    v_head bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
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
        INSERT INTO __SCHEMA__.events (position, stream_id, version, event_id, event_type, data, metadata, recorded_at, tags)
        SELECT v_head + t.n, t.stream_id, t.version, t.event_id, t.event_type, t.data, t.metadata,
               coalesce(t.recorded_at, (extract(epoch FROM now()) * 1000000)::bigint), t.tags
        FROM unnest(p_streams, p_versions, p_ids, p_types, p_data, p_metadata, p_recorded_at, p_tags)
             WITH ORDINALITY AS t (stream_id, version, event_id, event_type, data, metadata, recorded_at, tags, n);
        INSERT INTO __SCHEMA__.event_tags (tag, position)
        SELECT t.tag, v_head + t.n FROM unnest(p_tag_names, p_tag_ords) AS t (tag, n);
        IF EXISTS (
            SELECT 1
            FROM unnest(p_cond_ord, p_cond_after, p_cond_tag, p_cond_tags, p_cond_types)
                 AS c (ord, after, tag, tags, types)
            WHERE (c.tag IS NOT NULL AND EXISTS (
                      SELECT 1 FROM __SCHEMA__.event_tags t
                      JOIN __SCHEMA__.events e ON e.position = t.position
                      WHERE t.tag = c.tag AND t.position > c.after AND t.position < v_head + c.ord
                        AND (c.types = '' OR e.event_type = ANY (string_to_array(c.types, E'\x1f')))
                        AND string_to_array(e.tags, E'\x1f') @> string_to_array(c.tags, E'\x1f')))
               OR (c.tag IS NULL AND c.types <> '' AND EXISTS (
                      SELECT 1 FROM __SCHEMA__.events e
                      WHERE e.event_type = ANY (string_to_array(c.types, E'\x1f'))
                        AND e.position > c.after AND e.position < v_head + c.ord))
               OR (c.tag IS NULL AND c.types = '' AND EXISTS (
                      SELECT 1 FROM __SCHEMA__.events e
                      WHERE e.position > c.after AND e.position < v_head + c.ord))
        ) THEN
            -- Undoes this block's inserts.
            RAISE EXCEPTION 'an append condition failed' USING ERRCODE = 'P0001';
        END IF;
    EXCEPTION WHEN unique_violation OR raise_exception THEN
        RETURN -1;
    END;
    INSERT INTO __SCHEMA__.streams (stream_id, version, state)
    SELECT stream_id, version, 0 FROM unnest(p_final_streams, p_final_versions) AS t (stream_id, version)
    ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, state = 0;
    PERFORM pg_notify(p_channel, (v_head + cardinality(p_ids))::text);
    RETURN v_head;
END
$$;
