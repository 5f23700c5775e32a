SELECT name, generation, partition_count, partition_index, position, current, previous, created_at, updated_at
FROM disco_projection_partitions WHERE current
ORDER BY name, generation, partition_index
