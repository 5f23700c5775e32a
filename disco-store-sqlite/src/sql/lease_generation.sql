-- ?1 name: the newest fencing token handed out for the lease.
SELECT generation FROM disco_leases WHERE name = ?1
