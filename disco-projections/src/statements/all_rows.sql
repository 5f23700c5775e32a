SELECT name, generation, version, state, position, tables, ready, token, updated_at
FROM disco_projections ORDER BY name, generation
