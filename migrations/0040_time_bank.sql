-- The time bank: mutual credit in hours, kept as a double-entry ledger (services.timebank).
--
-- Each resident has an hours account, and so does each sibling node (its clearing account,
-- as the Credit Commons model keeps one: what the residents of here and of there owe each
-- other, on balance). A transfer moves hours from one account to another and is posted as
-- two entries, one negative and one positive, so the node's accounts always sum to zero.
-- The balance is kept on the account row, which is also what a transfer locks (both rows,
-- in id order) before it checks the node's limits (live settings hours_min and hours_max,
-- hours_clearing_limit for clearing accounts), so two transfers at once cannot together
-- pass a limit that each alone would not.

CREATE TABLE hours_accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('resident', 'clearing')),
    -- a resident's; NULL once their account is deleted (the balance stays, so the node's
    -- accounts still sum to zero)
    account_id bigint UNIQUE REFERENCES accounts (id) ON DELETE SET NULL,
    -- a clearing account: the sibling node's domain
    node text UNIQUE CHECK (node ~ '^[a-z0-9.:-]+$'),
    balance numeric(10, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'clearing' OR node IS NULL),
    CHECK (kind = 'resident' OR (node IS NOT NULL AND account_id IS NULL))
);

CREATE TABLE hours_transfers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- a transfer across nodes: the EconomicEvent's id, the same on both nodes, so a retried
    -- Offer or Accept is applied once (services.timebank_remote)
    event_id text UNIQUE CHECK (event_id ~ '^https?://'),
    from_account bigint NOT NULL REFERENCES hours_accounts (id),
    to_account bigint NOT NULL REFERENCES hours_accounts (id),
    hours numeric(6, 2) NOT NULL CHECK (hours > 0),
    -- exchange: a completed service; correction: a moderator's settlement of a dispute;
    -- remote: one side of a transfer with a resident of a sibling node
    reason text NOT NULL CHECK (reason IN ('exchange', 'correction', 'remote')),
    conversation_id bigint REFERENCES conversations (id) ON DELETE SET NULL,
    note text NOT NULL DEFAULT '',
    created_by bigint REFERENCES accounts (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (from_account <> to_account)
);

CREATE TABLE hours_entries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transfer_id bigint NOT NULL REFERENCES hours_transfers (id),
    hours_account_id bigint NOT NULL REFERENCES hours_accounts (id),
    amount numeric(6, 2) NOT NULL CHECK (amount <> 0),
    balance_after numeric(10, 2) NOT NULL,
    UNIQUE (transfer_id, hours_account_id)
);
CREATE INDEX hours_entries_account_idx ON hours_entries (hours_account_id, id DESC);

-- Every transfer is exactly two entries that sum to zero, and each account's balance is the
-- sum of its entries: checked at commit, whatever code wrote the rows.
CREATE FUNCTION hours_transfer_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n int;
    total numeric;
BEGIN
    SELECT count(*), coalesce(sum(amount), 0) INTO n, total
    FROM hours_entries WHERE transfer_id = NEW.id;
    IF n <> 2 OR total <> 0 THEN
        RAISE EXCEPTION 'hours transfer % is not two entries summing to zero', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (
        SELECT 1 FROM hours_accounts AS a
        WHERE a.id IN (NEW.from_account, NEW.to_account)
          AND a.balance <> (SELECT coalesce(sum(e.amount), 0) FROM hours_entries AS e
                            WHERE e.hours_account_id = a.id)
    ) THEN
        RAISE EXCEPTION 'hours transfer % leaves a balance unlike its entries', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER hours_transfers_balanced
    AFTER INSERT ON hours_transfers DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION hours_transfer_balanced();

-- The hours of a completed service, as its listing's author confirmed them: the giver gets
-- them from the receiver at once; the other party may dispute within seven days, and a
-- moderator settles a dispute (keeping the hours, or correcting them).
CREATE TABLE hours_exchanges (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint NOT NULL UNIQUE REFERENCES conversations (id) ON DELETE CASCADE,
    giver_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
    receiver_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
    hours numeric(6, 2) NOT NULL CHECK (hours > 0),
    transfer_id bigint NOT NULL REFERENCES hours_transfers (id),
    state text NOT NULL DEFAULT 'recorded'
        CHECK (state IN ('recorded', 'disputed', 'settled')),
    dispute_until timestamptz NOT NULL,
    dispute_reason text NOT NULL DEFAULT '',
    disputed_at timestamptz,
    -- a settlement: the hours that stand, who settled and why
    settled_hours numeric(6, 2) CHECK (settled_hours >= 0),
    settled_by bigint REFERENCES accounts (id) ON DELETE SET NULL,
    settled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (state <> 'disputed' OR disputed_at IS NOT NULL),
    CHECK (state <> 'settled' OR (settled_at IS NOT NULL AND settled_hours IS NOT NULL))
);
CREATE INDEX hours_exchanges_disputed_idx ON hours_exchanges (disputed_at)
    WHERE state = 'disputed';

-- Notifications of the time bank, about the conversation of the exchange (so
-- notifications_about_something holds as it is): hours_recorded for the other party (they
-- may dispute), hours_disputed for the author, hours_settled for both.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention',
    'moderation', 'moderation_warning', 'favourite', 'follow', 'follow_request',
    'listing_closed', 'new_pledge', 'hours_recorded', 'hours_disputed', 'hours_settled'));
