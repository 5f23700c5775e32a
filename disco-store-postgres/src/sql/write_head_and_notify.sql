-- $1: the new head; $2: the notification channel. Both in the batch's
-- transaction, so listeners hear of the commit only once it happened.
WITH moved AS (
    UPDATE __SCHEMA__.meta SET value = $1 WHERE key = 'head' RETURNING value
)
SELECT pg_notify($2, value::text) FROM moved
