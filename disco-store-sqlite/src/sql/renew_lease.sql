-- ?1 name, ?2 owner, ?3 new expires_at: one row changed while the owner still
-- holds the row; none once another holder took it.
UPDATE disco_leases SET expires_at = ?3 WHERE name = ?1 AND owner = ?2
