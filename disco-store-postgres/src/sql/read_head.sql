SELECT value FROM __SCHEMA__.meta WHERE key = 'head'
