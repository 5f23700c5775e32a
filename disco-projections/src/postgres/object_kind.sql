SELECT CASE c.relkind
         WHEN 'v' THEN 'view'
         WHEN 'r' THEN 'table'
         WHEN 'p' THEN 'table'
         WHEN 'm' THEN 'materialized view'
         WHEN 'f' THEN 'foreign table'
         WHEN 'i' THEN 'index'
         WHEN 'S' THEN 'sequence'
         ELSE 'relation'
       END
FROM pg_class c
WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace
