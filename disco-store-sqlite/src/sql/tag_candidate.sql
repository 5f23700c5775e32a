-- Whether any event carries one of the tags ?1..?4 (NULL for fewer) with a
-- position in ?5 < p <= ?6: a condition whose items all have tags checks
-- this first, in one step, and needs its plan only when one does.
SELECT position FROM disco_event_tags
WHERE tag IN (?1, ?2, ?3, ?4) AND position > ?5 AND position <= ?6
LIMIT 1
