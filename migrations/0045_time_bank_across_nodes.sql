-- The time bank across nodes (services.timebank_remote), as the Credit Commons model keeps
-- it: a transfer between a resident here and one of a sibling node moves hours between the
-- resident's account and that node's clearing account, on each node, so the two nodes'
-- clearing balances mirror each other.
--
-- One node proposes the transfer (an Offer of a ValueFlows EconomicEvent); the other applies
-- it at once and Accepts, or Rejects it with a reason when a limit would be passed. Until
-- the answer comes, the proposer applies nothing: it holds the hours on both its accounts,
-- so that what it has promised counts against the limits of every other transfer and the
-- Accept, when it comes, always fits.
ALTER TABLE hours_accounts
    ADD COLUMN held_out numeric(10, 2) NOT NULL DEFAULT 0 CHECK (held_out >= 0),
    ADD COLUMN held_in numeric(10, 2) NOT NULL DEFAULT 0 CHECK (held_in >= 0);

-- Each transfer across nodes, on each side, by the EconomicEvent's id (the same on both
-- nodes): a retried Offer or Accept finds its row and changes nothing.
CREATE TABLE hours_remote_transfers (
    event_id text PRIMARY KEY CHECK (event_id ~ '^https?://'),
    role text NOT NULL CHECK (role IN ('proposer', 'responder')),
    state text NOT NULL CHECK (state IN ('proposed', 'accepted', 'rejected')),
    node text NOT NULL,  -- the sibling node
    local_account_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
    local_pays boolean NOT NULL,  -- the resident here is the provider: they pay the hours
    remote_actor text NOT NULL CHECK (remote_actor ~ '^https?://'),
    hours numeric(6, 2) NOT NULL CHECK (hours > 0),
    offer_id text NOT NULL,
    -- the activity that answered it (sent by a responder, received by a proposer)
    answer_id text,
    reason text NOT NULL DEFAULT '',  -- why it was rejected
    transfer_id bigint REFERENCES hours_transfers (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz,
    CHECK ((state = 'accepted') = (transfer_id IS NOT NULL))
);
CREATE INDEX hours_remote_transfers_account_idx
    ON hours_remote_transfers (local_account_id, created_at DESC);

-- The hours of a service completed with a resident of a sibling node (who answered with an
-- Offer) move across nodes: the exchange names the event instead of a transfer here.
ALTER TABLE hours_exchanges
    ALTER COLUMN transfer_id DROP NOT NULL,
    ADD COLUMN event_id text UNIQUE REFERENCES hours_remote_transfers (event_id),
    ADD CONSTRAINT hours_exchanges_moved CHECK (transfer_id IS NOT NULL OR event_id IS NOT NULL);

-- hours_across: a resident's hours moved with a resident of a sibling node (actor_uri), or
-- that node refused them; about that actor, so notifications_about_something holds.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention',
    'moderation', 'moderation_warning', 'favourite', 'follow', 'follow_request',
    'listing_closed', 'new_pledge', 'hours_recorded', 'hours_disputed', 'hours_settled',
    'hours_across'));
