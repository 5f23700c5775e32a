SELECT name, generation, partition_count, partition_index, position, current, previous, claim, token, created_at, updated_at
FROM disco_projection_partitions LIMIT 0
