-- Pledges and claims across nodes: a remote resident's FEP-0837 Offer with a quantity is a
-- pledge towards a group purchase here, or a claim of a pay-it-forward portion. A pledge or
-- a claim is a resident's (account_id) or a remote actor's (actor_uri, with the Offer's id
-- that the Accept or Reject at the deadline names): exactly one of the two.

ALTER TABLE pledges DROP CONSTRAINT pledges_pkey;
ALTER TABLE pledges
    ALTER COLUMN account_id DROP NOT NULL,
    ADD COLUMN actor_uri text CHECK (actor_uri ~ '^https?://'),
    ADD COLUMN offer_ap_id text UNIQUE,
    -- residents' NULL actor_uri and remote actors' NULL account_id never collide
    ADD CONSTRAINT pledges_listing_account_key UNIQUE (listing_id, account_id),
    ADD CONSTRAINT pledges_listing_actor_key UNIQUE (listing_id, actor_uri),
    ADD CONSTRAINT pledges_one_pledger CHECK ((account_id IS NULL) <> (actor_uri IS NULL)),
    ADD CONSTRAINT pledges_offer_is_remote CHECK (offer_ap_id IS NULL OR actor_uri IS NOT NULL);

ALTER TABLE claims
    ALTER COLUMN account_id DROP NOT NULL,
    ADD COLUMN actor_uri text CHECK (actor_uri ~ '^https?://'),
    ADD COLUMN offer_ap_id text UNIQUE,
    ADD CONSTRAINT claims_listing_actor_key UNIQUE (listing_id, actor_uri),
    ADD CONSTRAINT claims_one_claimant CHECK ((account_id IS NULL) <> (actor_uri IS NULL));

-- A group purchase's deadline decides once, for everyone: reached (the pledges hold: every
-- pledger is told, remote ones with an Accept of their Offer) or missed (every pledge is
-- released: remote ones get a Reject). The row is the "once", whichever worker gets there.
CREATE TABLE pledge_outcomes (
    listing_id bigint PRIMARY KEY REFERENCES listings (id) ON DELETE CASCADE,
    outcome text NOT NULL CHECK (outcome IN ('reached', 'missed')),
    pledged integer NOT NULL CHECK (pledged >= 0),
    decided_at timestamptz NOT NULL DEFAULT now()
);

-- the deadline job looks only at group purchases still undecided
CREATE INDEX listings_group_purchase_deadline_idx ON listings ((details->>'deadline'))
    WHERE kind = 'group_purchase' AND state IN ('open', 'reserved');

-- pledge_reached, pledge_released: for a group purchase's pledgers and its organiser, when
-- the deadline decided (about the listing, listing_id).
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention',
    'moderation', 'moderation_warning', 'favourite', 'follow', 'follow_request',
    'listing_closed', 'new_pledge',
    'loan_asked', 'loan_confirmed', 'loan_declined', 'loan_pickup_soon', 'loan_return_soon',
    'loan_overdue',
    'pledge_reached', 'pledge_released'));
ALTER TABLE notifications ADD CONSTRAINT notifications_pledge_outcome_shape
    CHECK (kind NOT IN ('pledge_reached', 'pledge_released') OR listing_id IS NOT NULL);
