-- Fencing tokens of consumer leases: every acquisition of a name takes the
-- next generation, and a checkpoint written on behalf of a lease carries its
-- generation; a write with an older one is refused (see
-- src/sql/save_checkpoint_fenced.sql). Rows are never deleted, so a name's
-- generation never goes back.
CREATE TABLE __SCHEMA__.lease_generations (
    name       text   PRIMARY KEY,
    generation bigint NOT NULL
);
