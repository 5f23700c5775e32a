DELETE FROM disco_events WHERE stream_id = ?1
