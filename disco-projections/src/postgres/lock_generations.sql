SELECT generation FROM disco_projections WHERE name = $1 FOR UPDATE
