UPDATE disco_projections SET claim = NULL, updated_at = $3 WHERE name = $1 AND generation = $2
