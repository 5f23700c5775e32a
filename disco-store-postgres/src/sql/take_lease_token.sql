-- $1 the lease name: the next fencing token, taken by the holder that just got
-- the advisory lock.
INSERT INTO __SCHEMA__.lease_generations (name, generation) VALUES ($1, 1)
ON CONFLICT (name) DO UPDATE SET generation = __SCHEMA__.lease_generations.generation + 1
RETURNING generation
