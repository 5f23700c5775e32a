UPDATE disco_meta SET value = ?1 WHERE key = 'head'
