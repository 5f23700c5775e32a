SELECT p.position, p.claim, p.current, g.state
FROM disco_projection_partitions p
JOIN disco_projections g ON g.name = p.name AND g.generation = p.generation
WHERE p.name = $1 AND p.generation = $2 AND p.partition_count = $3 AND p.partition_index = $4
