UPDATE disco_projection_partitions SET position = CASE WHEN position > $5 THEN position ELSE $5 END, updated_at = $6
WHERE name = $1 AND generation = $2 AND partition_count = $3 AND partition_index = $4
