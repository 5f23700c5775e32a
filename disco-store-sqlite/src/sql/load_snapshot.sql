SELECT version, data FROM disco_snapshots WHERE stream_id = ?1
