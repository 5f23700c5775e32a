SELECT position, claim, state FROM disco_projections WHERE name = $1 AND generation = $2
