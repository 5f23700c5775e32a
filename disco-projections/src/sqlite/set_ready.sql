UPDATE disco_projections SET ready = 1, tables = ?3 WHERE name = ?1 AND generation = ?2
