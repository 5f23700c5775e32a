-- A query plan's chunk of every event, positions $1 < p <= $2.
-- Whole rows: reads.rs maps the columns by name.
SELECT * FROM __SCHEMA__.events
WHERE position > $1 AND position <= $2
ORDER BY position
LIMIT $3
