-- A query plan's chunk of the events carrying tag $1, positions $2 < p <= $3.
-- Whole rows: reads.rs maps the columns by name.
SELECT e.* FROM __SCHEMA__.event_tags t
JOIN __SCHEMA__.events e ON e.position = t.position
WHERE t.tag = $1 AND t.position > $2 AND t.position <= $3
ORDER BY t.position
LIMIT $4
