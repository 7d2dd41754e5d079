-- A claim on a queued row gets a token of its own, apart from its lease. `locked_until` was
-- both: the lease and the token that finishing queries matched on. A worker now renews its
-- lease while it works (a heartbeat moves `locked_until` forward), so the lease can be short
-- and a dead worker's rows are taken over within a minute; a token that moved with it would
-- no longer tell a live claim from one taken over. `claim` is set from one sequence when a
-- row is claimed, never changes while the claim lasts, and is cleared with `locked_until`.
CREATE SEQUENCE queue_claims;
ALTER TABLE deliveries ADD COLUMN claim bigint;
ALTER TABLE inbox_items ADD COLUMN claim bigint;
