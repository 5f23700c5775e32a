SELECT version, state FROM __SCHEMA__.streams WHERE stream_id = $1
