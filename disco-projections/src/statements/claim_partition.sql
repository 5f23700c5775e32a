UPDATE disco_projection_partitions SET claim = $5, token = CASE WHEN token > $6 THEN token ELSE $6 END, updated_at = $7
WHERE name = $1 AND generation = $2 AND partition_count = $3 AND partition_index = $4
