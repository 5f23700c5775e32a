-- The one-round-trip path of a batch; see append_fast in
-- migrations/0004_tags.sql. Returns the head before the batch, or -1.
SELECT __SCHEMA__.append_fast($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
