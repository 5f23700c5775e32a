-- $3: stream id prefix or NULL (compared as bytes, no LIKE wildcards);
-- $4: event types or NULL.
SELECT position, stream_id, version, event_id, event_type, data, metadata, recorded_at
FROM __SCHEMA__.events
WHERE position > $1
  AND ($3::text IS NULL OR left(stream_id, length($3::text)) = $3::text)
  AND ($4::text[] IS NULL OR event_type = ANY($4::text[]))
ORDER BY position
LIMIT $2
