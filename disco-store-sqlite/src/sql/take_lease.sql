-- ?1 name, ?2 owner, ?3 expires_at, ?4 now: takes the lease if it is free or
-- expired, with the next generation (the fencing token), returned; leaves a
-- live holder's row alone (no row returned).
INSERT INTO disco_leases (name, owner, expires_at, generation) VALUES (?1, ?2, ?3, 1)
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
    generation = disco_leases.generation + 1
WHERE disco_leases.expires_at <= ?4
RETURNING generation
