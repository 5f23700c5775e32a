-- The head: the highest position stored, or the one recorded before a hard
-- delete removed the newest events, whichever is higher.
SELECT greatest(coalesce((SELECT max(position) FROM __SCHEMA__.events), 0), value)
FROM __SCHEMA__.meta WHERE key = 'head'
