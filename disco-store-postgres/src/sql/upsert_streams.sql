INSERT INTO __SCHEMA__.streams (stream_id, version, state)
SELECT stream_id, version, 0 FROM unnest($1::text[], $2::bigint[]) AS t (stream_id, version)
ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, state = excluded.state
