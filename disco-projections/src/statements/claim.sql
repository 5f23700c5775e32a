UPDATE disco_projections SET claim = $3, token = CASE WHEN token > $4 THEN token ELSE $4 END, updated_at = $5
WHERE name = $1 AND generation = $2
