SELECT name, generation, partition_count, partition_index, position, current, previous, created_at, updated_at
FROM disco_projection_partitions WHERE name = $1 AND current
ORDER BY generation, partition_index
