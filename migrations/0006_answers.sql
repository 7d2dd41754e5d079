-- Answers to listings: one private conversation per listing and respondent, its messages,
-- and residents' notifications.
--
-- A respondent or a sender is a local account (account id) or, once answers federate, a
-- remote actor (its URI, as in remote_actors.uri): exactly one of the two is set. The URI is
-- not a foreign key, because the remote actor cache may be refreshed or pruned while the
-- conversation stays.

CREATE TABLE conversations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    listing_id bigint NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    respondent_account_id bigint REFERENCES accounts (id),
    respondent_actor_uri text CHECK (respondent_actor_uri ~ '^https?://'),
    -- waiting: in line; offered: the front of the line once the listing freed up;
    -- reserved: the author reserved the listing for them; withdrawn: the respondent left
    state text NOT NULL DEFAULT 'waiting'
        CHECK (state IN ('waiting', 'offered', 'reserved', 'declined', 'completed', 'withdrawn')),
    -- the FEP-0837 Offer (or first direct message) a remote answer came as, which the
    -- author's Accept or Reject refers to
    ap_id text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),  -- orders the line
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((respondent_account_id IS NULL) <> (respondent_actor_uri IS NULL)),
    UNIQUE (listing_id, respondent_account_id),
    UNIQUE (listing_id, respondent_actor_uri)
);

-- the line of a listing, in order
CREATE INDEX conversations_listing_idx ON conversations (listing_id, created_at, id);
-- "my answers"
CREATE INDEX conversations_respondent_idx ON conversations (respondent_account_id, created_at DESC)
    WHERE respondent_account_id IS NOT NULL;
-- at most one reservation per listing, whatever races
CREATE UNIQUE INDEX conversations_one_reserved_idx ON conversations (listing_id)
    WHERE state = 'reserved';

CREATE TABLE messages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sender_account_id bigint REFERENCES accounts (id),
    sender_actor_uri text CHECK (sender_actor_uri ~ '^https?://'),
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    -- the activity or object id the message came in as or went out as (federation)
    ap_id text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((sender_account_id IS NULL) <> (sender_actor_uri IS NULL))
);

CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at, id);

-- for local residents only: a remote actor hears of things through activities
CREATE TABLE notifications (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN (
        'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
        'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry')),
    listing_id bigint NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    conversation_id bigint REFERENCES conversations (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz
);

CREATE INDEX notifications_account_idx ON notifications (account_id, created_at DESC, id DESC);
-- the count in every page's navigation
CREATE INDEX notifications_unread_idx ON notifications (account_id) WHERE read_at IS NULL;
-- a listing's author hears once that it is about to expire
CREATE UNIQUE INDEX notifications_near_expiry_idx ON notifications (listing_id)
    WHERE kind = 'near_expiry';
