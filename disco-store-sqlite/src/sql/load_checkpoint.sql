SELECT position FROM disco_checkpoints WHERE name = ?1
