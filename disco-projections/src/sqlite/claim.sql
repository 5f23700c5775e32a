UPDATE disco_projections SET claim = ?3, token = MAX(token, ?4), updated_at = ?5
WHERE name = ?1 AND generation = ?2
