-- Whole rows: src/event_row.rs maps the columns by name.
SELECT * FROM disco_events
WHERE stream_id = ?1 AND version <= ?2
ORDER BY version DESC
LIMIT ?3
