UPDATE disco_projections SET position = 0, updated_at = $3 WHERE name = $1 AND generation = $2
