-- A query plan's chunk of every event, positions ?1 < p <= ?2.
-- Whole rows: src/event_row.rs maps the columns by name.
SELECT * FROM disco_events
WHERE position > ?1 AND position <= ?2
ORDER BY position
LIMIT ?3
