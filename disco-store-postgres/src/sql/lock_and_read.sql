-- Step one of a batch; see lock_and_read in migrations/0001_init.sql.
SELECT r_kind, r_stream_id, r_version, r_state, r_event_id, r_position
FROM __SCHEMA__.lock_and_read($1, $2, $3)
