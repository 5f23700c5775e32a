UPDATE disco_projection_partitions SET current = false, updated_at = $4
WHERE name = $1 AND generation = $2 AND partition_count = $3
