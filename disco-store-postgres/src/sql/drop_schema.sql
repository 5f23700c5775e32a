-- Only after drop_store.sql, only for a schema disco created, and only when
-- nothing else is left in it (checked first); RESTRICT makes the server
-- refuse it anyway if something is.
DROP SCHEMA __SCHEMA__ RESTRICT
