INSERT INTO __SCHEMA__.disco_migrations (version) VALUES ($1)
