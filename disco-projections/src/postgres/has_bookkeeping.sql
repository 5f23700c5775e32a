SELECT to_regclass('disco_projections') IS NOT NULL
