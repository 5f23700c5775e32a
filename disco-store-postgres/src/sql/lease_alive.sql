-- A session lock lives as long as its connection: a round trip that succeeds
-- proves the lease is still held.
SELECT 1
