-- What an aggregate loads, in one round trip and one snapshot: the
-- stream's state, its snapshot, and up to $2 events after the snapshot's
-- version. No row: the stream is absent; a row whose event_id is NULL: no
-- event after the snapshot.
SELECT s.state AS stream_state, sn.version AS snapshot_version, sn.data AS snapshot_data, e.*
FROM __SCHEMA__.streams s
LEFT JOIN __SCHEMA__.snapshots sn ON sn.stream_id = s.stream_id
LEFT JOIN LATERAL (
    SELECT * FROM __SCHEMA__.events
    WHERE stream_id = $1 AND version > COALESCE(sn.version, 0)
    ORDER BY version
    LIMIT $2
) e ON true
WHERE s.stream_id = $1
