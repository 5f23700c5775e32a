-- ?1 name, ?2 owner: ends the lease at once. The row stays (expired) so its
-- generation never goes back.
UPDATE disco_leases SET expires_at = 0 WHERE name = ?1 AND owner = ?2
