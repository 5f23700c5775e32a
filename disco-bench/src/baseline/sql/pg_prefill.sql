-- Fills a disco store's schema with 5,000,000 events (5,000 streams of
-- 1,000; 200 bytes of data, 60 of metadata), the way the writer would have.
INSERT INTO __SCHEMA__.events (position, stream_id, version, event_id, event_type, data, metadata, recorded_at)
SELECT g, 'prefill-' || ((g - 1) / 1000), ((g - 1) % 1000) + 1, gen_random_uuid(), 'BenchEvent',
       convert_to(rpad('{"n":' || g, 198, 'x') || '"}', 'UTF8'), convert_to(rpad('{"c":"', 58, 'c') || '"}', 'UTF8'),
       (extract(epoch FROM now()) * 1000000)::bigint
FROM generate_series(1, 5000000) AS g;
INSERT INTO __SCHEMA__.streams (stream_id, version, state)
SELECT 'prefill-' || s, 1000, 0 FROM generate_series(0, 4999) AS s;
UPDATE __SCHEMA__.meta SET value = 5000000 WHERE key = 'head';
ANALYZE __SCHEMA__.events;
