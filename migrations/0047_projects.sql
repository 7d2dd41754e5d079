-- Neighbourhood projects (civic crowdfunding): a listing of kind `project` has a goal, a
-- deadline and needs in hours, materials and money, kept in its details as a list (their
-- positions are the needs' keys, and they cannot change once someone has pledged). Money is
-- promised here, never collected: the project says how to pay.
ALTER TABLE listings DROP CONSTRAINT listings_kind_check;
ALTER TABLE listings ADD CONSTRAINT listings_kind_check CHECK (kind IN (
    'give', 'lend', 'swap', 'service', 'ride', 'stay', 'group_purchase', 'pay_it_forward',
    'shared', 'project'));

ALTER TABLE saved_searches DROP CONSTRAINT saved_searches_kinds_check;
ALTER TABLE saved_searches ADD CONSTRAINT saved_searches_kinds_check CHECK (kinds <@
    '{give,lend,swap,service,ride,stay,group_purchase,pay_it_forward,shared,project}');

-- A pledge towards one need of a project: a resident's (account_id) or a remote actor's
-- (actor_uri, with the FEP-0837 Offer it came as, which the deadline's Accept or Reject
-- names). One pledge per pledger and need; a new one replaces it.
CREATE TABLE project_pledges (
    id bigserial PRIMARY KEY,
    listing_id bigint NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    need smallint NOT NULL CHECK (need BETWEEN 0 AND 99),
    account_id bigint REFERENCES accounts (id) ON DELETE CASCADE,
    actor_uri text CHECK (actor_uri ~ '^https?://'),
    offer_ap_id text UNIQUE,
    quantity numeric(12, 2) NOT NULL CHECK (quantity > 0),
    -- hours given for a pledge of hours, once the project is funded: moved by the time bank
    -- here (transfer_id) or proposed to the pledger's node (event_id, see hours_remote)
    delivered numeric(8, 2) CHECK (delivered > 0),
    transfer_id bigint REFERENCES hours_transfers (id),
    event_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT project_pledges_one_pledger CHECK ((account_id IS NULL) <> (actor_uri IS NULL)),
    CONSTRAINT project_pledges_offer_is_remote CHECK (offer_ap_id IS NULL OR actor_uri IS NOT NULL),
    CONSTRAINT project_pledges_delivery_once CHECK (
        (delivered IS NULL AND transfer_id IS NULL AND event_id IS NULL)
        OR (delivered IS NOT NULL AND (transfer_id IS NULL) <> (event_id IS NULL))),
    CONSTRAINT project_pledges_account_key UNIQUE (listing_id, need, account_id),
    CONSTRAINT project_pledges_actor_key UNIQUE (listing_id, need, actor_uri)
);
CREATE INDEX project_pledges_account_idx ON project_pledges (account_id);

-- the deadline job (services.pledges.decide_deadlines) looks at projects still undecided;
-- the outcome is kept in pledge_outcomes (reached: every need met), as a group purchase's
CREATE INDEX listings_project_deadline_idx ON listings ((details->>'deadline'))
    WHERE kind = 'project' AND state IN ('open', 'reserved');

-- hours a project's organiser moves to a pledger who gave them
ALTER TABLE hours_transfers DROP CONSTRAINT hours_transfers_reason_check;
ALTER TABLE hours_transfers ADD CONSTRAINT hours_transfers_reason_check
    CHECK (reason IN ('exchange', 'correction', 'remote', 'project'));

-- project_pledge: actor_uri pledged towards the resident's project; project_funded,
-- project_missed: the deadline decided, for the organiser and every pledger here;
-- project_hours: the organiser recorded the hours the resident gave. About the listing.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention',
    'moderation', 'moderation_warning', 'favourite', 'follow', 'follow_request',
    'listing_closed', 'new_pledge',
    'hours_recorded', 'hours_disputed', 'hours_settled', 'hours_across',
    'loan_asked', 'loan_confirmed', 'loan_declined', 'loan_pickup_soon', 'loan_return_soon',
    'loan_overdue', 'pledge_reached', 'pledge_released',
    'listing_match', 'saved_search_match', 'thanks',
    'project_pledge', 'project_funded', 'project_missed', 'project_hours'));
ALTER TABLE notifications ADD CONSTRAINT notifications_project_shape
    CHECK (kind NOT LIKE 'project\_%' OR listing_id IS NOT NULL);
