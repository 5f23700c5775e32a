-- The stream's state and its snapshot in one statement (one snapshot of
-- both). No row: the stream is absent.
SELECT s.state AS stream_state, sn.version AS snapshot_version, sn.data AS snapshot_data
FROM __SCHEMA__.streams s
LEFT JOIN __SCHEMA__.snapshots sn ON sn.stream_id = s.stream_id
WHERE s.stream_id = $1
