-- Run before a hard delete: records the head, so removing the newest events
-- never lowers it.
UPDATE __SCHEMA__.meta
SET value = greatest(value, coalesce((SELECT max(position) FROM __SCHEMA__.events), 0))
WHERE key = 'head'
