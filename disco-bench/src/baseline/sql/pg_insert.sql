INSERT INTO __SCHEMA__.events (stream_id, version, event_id, event_type, data, metadata, recorded_at)
SELECT stream_id, version, event_id, event_type, data, metadata, (extract(epoch FROM now()) * 1000000)::bigint
FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::bytea[], $6::bytea[])
     AS t (stream_id, version, event_id, event_type, data, metadata)
