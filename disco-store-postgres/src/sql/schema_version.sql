SELECT coalesce(max(version), 0) FROM __SCHEMA__.disco_migrations
