SELECT event_id, stream_id, version, position FROM __SCHEMA__.events WHERE event_id = ANY($1)
