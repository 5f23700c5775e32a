-- The newest version wins: an older snapshot never replaces a newer one.
INSERT INTO __SCHEMA__.snapshots (stream_id, version, data) VALUES ($1, $2, $3)
ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, data = excluded.data
WHERE excluded.version >= __SCHEMA__.snapshots.version
