-- Stores made before checksums were recorded get the column (migrating only).
ALTER TABLE __SCHEMA__.disco_migrations ADD COLUMN IF NOT EXISTS checksum text
