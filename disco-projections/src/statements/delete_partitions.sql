DELETE FROM disco_projection_partitions WHERE name = $1 AND generation = $2
