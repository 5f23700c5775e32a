UPDATE disco_projection_partitions SET position = MAX(position, ?5), updated_at = ?6
WHERE name = ?1 AND generation = ?2 AND partition_count = ?3 AND partition_index = ?4
