SELECT name, generation, version, state, position, tables, ready, token, updated_at
FROM disco_projections WHERE name = ?1 ORDER BY generation
