UPDATE disco_projections SET state = $3, updated_at = $4 WHERE name = $1 AND generation = $2
