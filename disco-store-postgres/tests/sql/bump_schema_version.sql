-- Test only: pretends a newer disco migrated the schema.
INSERT INTO __SCHEMA__.disco_migrations (version) VALUES (99)
