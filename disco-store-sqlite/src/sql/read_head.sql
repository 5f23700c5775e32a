SELECT value FROM disco_meta WHERE key = 'head'
