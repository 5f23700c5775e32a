-- Runs only when the schema does not exist yet (migrate() checks, under its
-- advisory lock); the comment records that disco created it, so `drop` may
-- remove the schema itself once nothing else is in it.
CREATE SCHEMA __SCHEMA__;
COMMENT ON SCHEMA __SCHEMA__ IS 'created by disco'
