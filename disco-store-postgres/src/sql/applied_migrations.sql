-- Every applied migration with its recorded checksum (NULL when it was applied
-- before checksums were kept; to_jsonb reads the column whether or not an old
-- store has it yet).
SELECT version, to_jsonb(m) ->> 'checksum' FROM __SCHEMA__.disco_migrations m ORDER BY version
