SELECT name, position FROM disco_checkpoints ORDER BY name
