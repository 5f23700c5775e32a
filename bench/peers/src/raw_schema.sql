WITH e AS (
    INSERT INTO disco_events (position, stream_id, version, event_id, event_type, data, metadata, recorded_at)
    VALUES (nextval('disco_position'), $1, 1, $2::uuid, 'FundsDeposited', $3, '{}', 0)
    RETURNING stream_id
)
INSERT INTO disco_streams (stream_id, version, state) SELECT stream_id, 1, 0 FROM e
