-- $1 a schema name: every object in it, as 'kind name', in name order.
-- Indexes, TOAST tables and the row types of tables are parts of their tables
-- and not listed.
SELECT kind || ' ' || name FROM (
    SELECT CASE c.relkind
               WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
               WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
               WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'type'
           END AS kind,
           c.relname::text AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $1
    UNION ALL
    SELECT 'function', p.proname::text
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = $1
    UNION ALL
    SELECT 'type', t.typname::text
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = $1 AND t.typtype IN ('e', 'd', 'r', 'm')
) objects
WHERE kind IS NOT NULL
ORDER BY name, kind
