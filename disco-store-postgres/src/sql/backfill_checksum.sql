-- $1 version, $2 checksum: records the checksum of a migration applied before
-- checksums were kept.
UPDATE __SCHEMA__.disco_migrations SET checksum = $2 WHERE version = $1 AND checksum IS NULL
