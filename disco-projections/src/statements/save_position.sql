UPDATE disco_projections SET position = CASE WHEN position > $3 THEN position ELSE $3 END, updated_at = $4
WHERE name = $1 AND generation = $2
