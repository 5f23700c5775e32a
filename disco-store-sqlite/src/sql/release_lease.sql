DELETE FROM disco_leases WHERE name = ?1 AND owner = ?2
