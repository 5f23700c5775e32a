-- A hard delete's tag index entries, removed before its events.
DELETE FROM __SCHEMA__.event_tags
WHERE position IN (SELECT position FROM __SCHEMA__.events WHERE stream_id = $1)
