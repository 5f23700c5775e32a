-- A query plan's chunk of the events of type $1, positions $2 < p <= $3.
-- Whole rows: reads.rs maps the columns by name.
SELECT * FROM __SCHEMA__.events
WHERE event_type = $1 AND position > $2 AND position <= $3
ORDER BY event_type, position
LIMIT $4
