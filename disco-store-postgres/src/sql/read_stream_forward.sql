-- One statement, so one snapshot of the stream's state and its events,
-- without an explicit transaction. No row: the stream is absent; a row
-- whose event_id is NULL: no event in the range. Whole event rows: reads.rs
-- maps the columns by name.
SELECT s.state AS stream_state, e.*
FROM __SCHEMA__.streams s
LEFT JOIN LATERAL (
    SELECT * FROM __SCHEMA__.events
    WHERE stream_id = $1 AND version >= $2
    ORDER BY version
    LIMIT $3
) e ON true
WHERE s.stream_id = $1
