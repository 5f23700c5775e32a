SELECT name, generation, partition_count, partition_index, position, current, previous, created_at, updated_at
FROM disco_projection_partitions WHERE name = $1 AND generation = $2
ORDER BY partition_count, partition_index
