SELECT position, stream_id, version, event_id, event_type, data, metadata, recorded_at
FROM __SCHEMA__.events WHERE position > $1 ORDER BY position LIMIT $2
