-- A transfer of hours across nodes that the other node never answers can be withdrawn by its
-- proposer (services.timebank_withdrawal): by the resident two days after it was sent, by
-- the node after seven. The hours held for it are released and an Undo of the Offer goes to
-- the other node, which records it as withdrawn: an Offer that reaches it after the Undo
-- moves nothing. Should the other node have accepted before it heard, it sends its Accept
-- again and the proposer applies it, so the two ledgers still mirror each other.
ALTER TABLE hours_remote_transfers DROP CONSTRAINT hours_remote_transfers_state_check;
ALTER TABLE hours_remote_transfers ADD CONSTRAINT hours_remote_transfers_state_check
    CHECK (state IN ('proposed', 'accepted', 'rejected', 'withdrawn'));

-- the proposals still waiting for an answer, oldest first, for the job that withdraws them
CREATE INDEX hours_remote_transfers_waiting_idx ON hours_remote_transfers (created_at)
    WHERE role = 'proposer' AND state = 'proposed';
