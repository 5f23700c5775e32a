INSERT INTO disco_projections (name, generation, version, state, position, tables, ready, token, updated_at)
VALUES ($1, $2, $3, $4, 0, '', false, 0, $5)
