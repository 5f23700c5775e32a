SELECT version, state FROM disco_streams WHERE stream_id = ?1
