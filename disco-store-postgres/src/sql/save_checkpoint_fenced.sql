-- $1 name, $2 position, $3 the writer's fencing token. The generation row is
-- locked FOR SHARE: an acquisition's increment waits for this statement, and
-- this statement waits for an increment in flight and then sees its result
-- (READ COMMITTED re-reads a locked row at its newest version). So the write
-- lands only if no newer token was handed out. Returns the newest generation
-- (NULL if the name was never leased) and whether the checkpoint was written.
WITH fence AS (
    SELECT generation FROM __SCHEMA__.lease_generations WHERE name = $1 FOR SHARE
), saved AS (
    INSERT INTO __SCHEMA__.checkpoints (name, position)
    SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM fence WHERE generation > $3)
    ON CONFLICT (name) DO UPDATE SET position = excluded.position
    RETURNING 1
)
SELECT (SELECT generation FROM fence), EXISTS (SELECT 1 FROM saved)
