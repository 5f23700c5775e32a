-- ?1 name, ?2 owner, ?3 expires_at, ?4 now: takes the lease if it is free or
-- expired (one row changed) and leaves a live holder's row alone (none).
INSERT INTO disco_leases (name, owner, expires_at) VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE disco_leases.expires_at <= ?4
