SELECT position, stream_id, version, event_id, event_type, data, metadata, recorded_at
FROM __SCHEMA__.events WHERE stream_id = $1 AND version >= 1 ORDER BY version LIMIT $2
