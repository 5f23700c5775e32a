SELECT name, generation, version, state, position, tables, ready, claim, token, updated_at
FROM disco_projections LIMIT 0
