-- $1 version, $2 the checksum of the migration file as shipped.
INSERT INTO __SCHEMA__.disco_migrations (version, checksum) VALUES ($1, $2)
