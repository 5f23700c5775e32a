INSERT INTO __SCHEMA__.events (stream_id, version, event_id, event_type, data, metadata, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, (extract(epoch FROM now()) * 1000000)::bigint)
