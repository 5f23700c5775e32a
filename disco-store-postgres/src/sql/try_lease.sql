-- $1 the store's key, $2 the consumer's key: a session advisory lock in the
-- two-int4 key space (which never overlaps the bigint one the writer and
-- migrations use). It holds until unlocked or until the connection ends.
SELECT pg_try_advisory_lock($1, $2)
