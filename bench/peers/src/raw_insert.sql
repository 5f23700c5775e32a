INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
VALUES ('raw', $1, 1, 'FundsDeposited', '1.0', $2, '{}')
