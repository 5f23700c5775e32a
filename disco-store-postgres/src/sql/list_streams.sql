-- $1: the prefix (rows from it on, in byte order); $2: the last stream id of
-- the previous page, or NULL. The caller stops at the first id without the prefix.
SELECT stream_id, version, state
FROM __SCHEMA__.streams
WHERE stream_id >= $1 AND ($2::text IS NULL OR stream_id > $2)
ORDER BY stream_id
LIMIT $3
