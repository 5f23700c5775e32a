-- One row per event of the batch; every value is a bound array.
INSERT INTO __SCHEMA__.events (position, stream_id, version, event_id, event_type, data, metadata, recorded_at)
SELECT position, stream_id, version, event_id, event_type, data, metadata,
       (extract(epoch FROM now()) * 1000000)::bigint
FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::bytea[], $7::bytea[])
     AS t (position, stream_id, version, event_id, event_type, data, metadata)
