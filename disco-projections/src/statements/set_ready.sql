UPDATE disco_projections SET ready = true, tables = $3 WHERE name = $1 AND generation = $2
