-- ?3: a stream id prefix, or NULL for any stream (compared as bytes).
-- ?4: a JSON array of event types, or NULL for any type.
-- ?5, ?6: a partition of the stream ids, ?6 of ?5 (disco_partition, see
-- src/partition_fn.rs), or NULL for every stream.
-- Whole rows: src/event_row.rs maps the columns by name.
SELECT * FROM disco_events
WHERE position > ?1
  AND (?3 IS NULL OR substr(CAST(stream_id AS BLOB), 1, length(CAST(?3 AS BLOB))) = CAST(?3 AS BLOB))
  AND (?4 IS NULL OR event_type IN (SELECT value FROM json_each(?4)))
  AND (?5 IS NULL OR disco_partition(stream_id, ?5) = ?6)
ORDER BY position
LIMIT ?2
