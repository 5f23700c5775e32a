-- A hard delete's tag index entries, removed before its events.
DELETE FROM disco_event_tags
WHERE position IN (SELECT position FROM disco_events WHERE stream_id = ?1)
