-- Schema version 3: leases carry a fencing token (generation) that grows with
-- every acquisition, so a checkpoint write of a holder that lost its lease is
-- refused. A released row stays (expired), so the generation never goes back.
ALTER TABLE disco_leases ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
