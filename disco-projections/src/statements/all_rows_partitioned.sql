SELECT g.name, g.generation, g.version, g.state,
       COALESCE((SELECT min(p.position) FROM disco_projection_partitions p
                 WHERE p.name = g.name AND p.generation = g.generation AND p.current), g.position),
       g.tables, g.ready, g.token, g.updated_at
FROM disco_projections g ORDER BY g.name, g.generation
