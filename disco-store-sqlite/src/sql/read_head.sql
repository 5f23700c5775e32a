-- The head: the highest position in the events table, or the one recorded in
-- disco_meta before a hard delete removed the last events, whichever is higher.
SELECT max(coalesce((SELECT max(position) FROM disco_events), 0),
           (SELECT value FROM disco_meta WHERE key = 'head'))
