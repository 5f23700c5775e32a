-- Whole rows: reads.rs maps the columns by name.
SELECT * FROM __SCHEMA__.events
WHERE stream_id = $1 AND version <= $2
ORDER BY version DESC
LIMIT $3
