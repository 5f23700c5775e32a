SELECT name, position FROM __SCHEMA__.checkpoints ORDER BY name
