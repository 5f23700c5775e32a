-- Whole rows: src/event_row.rs maps the columns by name.
SELECT * FROM disco_events
WHERE position <= ?1
ORDER BY position DESC
LIMIT ?2
