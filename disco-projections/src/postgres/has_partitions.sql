SELECT to_regclass('disco_projection_partitions') IS NOT NULL
