-- Run before a hard delete: records the head, so removing the last events
-- never lowers it.
UPDATE disco_meta
SET value = max(value, coalesce((SELECT max(position) FROM disco_events), 0))
WHERE key = 'head'
