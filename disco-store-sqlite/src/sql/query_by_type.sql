-- A query plan's chunk of the events of type ?1, positions ?2 < p <= ?3.
-- Whole rows: src/event_row.rs maps the columns by name.
SELECT * FROM disco_events INDEXED BY disco_events_by_type
WHERE event_type = ?1 AND position > ?2 AND position <= ?3
ORDER BY position
LIMIT ?4
