-- $1 a schema name: whether it exists, and whether disco created it (the
-- comment migrate() puts on a schema it creates).
SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
       coalesce((SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1), '')
           = 'created by disco'
