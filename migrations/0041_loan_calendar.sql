-- The loan calendar of a lend listing: neighbours ask for a pickup day and a return day,
-- the author confirms or declines, marks the thing returned, and the node reminds both
-- sides the day before pickup and before return, and notices an overdue loan.
--
-- A booking's days are both inclusive: the thing is with the borrower from the pickup day
-- to the return day, so the next borrower's pickup day is the day after.
--
-- Asked ranges block others as confirmed ones do. Otherwise two neighbours could plan on
-- the same days and the author would have to disappoint one after the fact; and a remote
-- resident's Offer is answered at once (a clash gets a Reject with the reason). An ask
-- that nobody decided on by its pickup day lapses (services.loans), so it cannot hold the
-- calendar for ever; declined, cancelled, lapsed and returned bookings no longer block.
--
-- The overlap rule is an exclusion constraint. The usual way to say "same listing" in one
-- is btree_gist's `listing_id WITH =`, but the embedded PostgreSQL (the pgserver package)
-- ships no contrib extensions, btree_gist included; so the listing is said as a one-value
-- range, `int8range(listing_id, listing_id, '[]') WITH &&`, which the built-in GiST range
-- operator class indexes: two such ranges overlap exactly when the ids are equal.

CREATE TABLE bookings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    listing_id bigint NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    -- a resident here, or a remote actor who booked with an FEP-0837 Offer (its id below)
    borrower_account_id bigint REFERENCES accounts (id) ON DELETE CASCADE,
    borrower_actor_uri text CHECK (borrower_actor_uri ~ '^https?://'),
    pickup_on date NOT NULL,
    return_on date NOT NULL,
    days daterange GENERATED ALWAYS AS (daterange(pickup_on, return_on, '[]')) STORED,
    state text NOT NULL DEFAULT 'asked'
        CHECK (state IN ('asked', 'confirmed', 'declined', 'cancelled', 'lapsed', 'returned')),
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 5000),
    offer_ap_id text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz,
    returned_at timestamptz,
    -- each reminder goes once, whichever worker sends it
    pickup_reminded_at timestamptz,
    return_reminded_at timestamptz,
    overdue_noticed_at timestamptz,
    CHECK (return_on >= pickup_on),
    CHECK ((borrower_account_id IS NULL) <> (borrower_actor_uri IS NULL)),
    -- booked ranges never overlap, whatever races: the second of two concurrent inserts
    -- waits for the first to commit, then fails
    CONSTRAINT bookings_no_overlap EXCLUDE USING gist (
        int8range(listing_id, listing_id, '[]') WITH &&, days WITH &&)
        WHERE (state IN ('asked', 'confirmed'))
);

CREATE INDEX bookings_listing_idx ON bookings (listing_id, pickup_on);
CREATE INDEX bookings_borrower_idx ON bookings (borrower_account_id, pickup_on)
    WHERE borrower_account_id IS NOT NULL;
-- the reminder jobs look only at bookings still running
CREATE INDEX bookings_running_idx ON bookings (pickup_on, return_on)
    WHERE state IN ('asked', 'confirmed');

-- Loan notifications, about the listing (listing_id) with the other side in actor_uri:
-- loan_asked (the author: someone asked for days), loan_confirmed and loan_declined (the
-- borrower), loan_pickup_soon (both, the day before pickup), loan_return_soon (the
-- borrower, the day before return), loan_overdue (both, the day after a return day that
-- passed without the author marking it returned).
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention',
    'moderation', 'moderation_warning', 'favourite', 'follow', 'follow_request',
    'listing_closed', 'new_pledge',
    'loan_asked', 'loan_confirmed', 'loan_declined', 'loan_pickup_soon', 'loan_return_soon',
    'loan_overdue'));
ALTER TABLE notifications ADD CONSTRAINT notifications_loan_shape
    CHECK (kind NOT LIKE 'loan\_%' OR (actor_uri IS NOT NULL AND listing_id IS NOT NULL));
