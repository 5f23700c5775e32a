-- Whole rows: reads.rs maps the columns by name.
SELECT * FROM __SCHEMA__.events
WHERE position <= $1
ORDER BY position DESC
LIMIT $2
