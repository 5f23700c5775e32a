INSERT INTO disco_projection_partitions
    (name, generation, partition_count, partition_index, position, current, previous, claim, token, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, true, $6, NULL, 0, $7, $7)
