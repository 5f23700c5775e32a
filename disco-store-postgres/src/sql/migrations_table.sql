CREATE TABLE IF NOT EXISTS __SCHEMA__.disco_migrations (
    version    integer     PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    checksum   text
)
