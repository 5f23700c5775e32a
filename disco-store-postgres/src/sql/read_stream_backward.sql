-- As read_stream_forward.sql, newest first.
SELECT s.state AS stream_state, e.*
FROM __SCHEMA__.streams s
LEFT JOIN LATERAL (
    SELECT * FROM __SCHEMA__.events
    WHERE stream_id = $1 AND version <= $2
    ORDER BY version DESC
    LIMIT $3
) e ON true
WHERE s.stream_id = $1
