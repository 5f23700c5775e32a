-- What a file holds besides disco's own objects and SQLite's internal ones.
SELECT type || ' ' || name FROM sqlite_master
WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'disco_%'
ORDER BY name
