SELECT type FROM sqlite_master WHERE name = $1
