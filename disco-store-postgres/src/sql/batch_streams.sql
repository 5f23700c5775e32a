SELECT stream_id, version, state FROM __SCHEMA__.streams WHERE stream_id = ANY($1)
