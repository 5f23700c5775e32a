UPDATE disco_projection_partitions SET claim = ?5, token = MAX(token, ?6), updated_at = ?7
WHERE name = ?1 AND generation = ?2 AND partition_count = ?3 AND partition_index = ?4
