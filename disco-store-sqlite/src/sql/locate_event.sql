SELECT stream_id, version, position FROM disco_events WHERE event_id = ?1
