-- $3: stream id prefix or NULL (compared as bytes, no LIKE wildcards);
-- $4: event types or NULL.
-- Whole rows: reads.rs maps the columns by name.
SELECT * FROM __SCHEMA__.events
WHERE position > $1
  AND ($3::text IS NULL OR left(stream_id, length($3::text)) = $3::text)
  AND ($4::text[] IS NULL OR event_type = ANY($4::text[]))
ORDER BY position
LIMIT $2
