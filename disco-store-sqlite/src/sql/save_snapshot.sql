-- The newest version wins: an older snapshot never replaces a newer one.
INSERT INTO disco_snapshots (stream_id, version, data) VALUES (?1, ?2, ?3)
ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, data = excluded.data
WHERE excluded.version >= disco_snapshots.version
