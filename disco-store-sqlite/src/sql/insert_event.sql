-- The parameters are named after the columns; src/event_row.rs binds them.
INSERT INTO disco_events (position, stream_id, version, event_id, event_type, data, metadata, recorded_at, tags)
VALUES (:position, :stream_id, :version, :event_id, :event_type, :data, :metadata, :recorded_at, :tags)
