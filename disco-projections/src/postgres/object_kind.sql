SELECT c.relkind::text FROM pg_class c
WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace
