SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'disco_projection_partitions'
