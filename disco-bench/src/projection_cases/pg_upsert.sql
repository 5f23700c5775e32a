INSERT INTO __TABLE__ (id, n, last) VALUES ($1, 1, $2)
ON CONFLICT (id) DO UPDATE SET n = __TABLE__.n + 1, last = $2
