-- Moderating accounts (services/account_actions.py, services/remote_moderation.py): a
-- resident warned, limited or suspended, and a remote person suspended.
--
-- A limited resident (Mastodon's "silenced", now "limited") keeps posting, but their listings
-- leave the public places: /explore, the feeds, the Group's outbox and announcements. A
-- suspended one (status 'suspended', since 0001) cannot log in and their listings are hidden;
-- `suspended_at` starts the 30 days after which the account is deleted for good, unless a
-- moderator lifts the suspension first.
ALTER TABLE accounts
    ADD COLUMN limited_at timestamptz,
    ADD COLUMN suspended_at timestamptz;
-- (a row suspended before, or by hand, without the date is never deleted by the job)
UPDATE accounts SET suspended_at = now() WHERE status = 'suspended';
ALTER TABLE accounts ADD CONSTRAINT accounts_suspended_since
    CHECK (status = 'suspended' OR suspended_at IS NULL);

-- the accounts whose listings every public page leaves out: read on each such page, so a
-- partial index keeps it to the few moderated rows
CREATE INDEX accounts_moderated_idx ON accounts (id)
    WHERE limited_at IS NOT NULL OR status = 'suspended';
-- the suspensions whose 30 days have run out (services.jobs)
CREATE INDEX accounts_suspended_idx ON accounts (suspended_at) WHERE status = 'suspended';

-- What a moderator told a resident with an action against them (Mastodon's account
-- warnings): the action and its reason, shown in their notifications and mailed to them.
CREATE TABLE account_warnings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    action text NOT NULL
        CHECK (action IN ('warn', 'limit', 'unlimit', 'suspend', 'unsuspend')),
    text text NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX account_warnings_account_idx ON account_warnings (account_id, created_at DESC);

ALTER TABLE notifications
    ADD COLUMN warning_id bigint REFERENCES account_warnings (id) ON DELETE CASCADE;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention',
    'moderation', 'moderation_warning'));
ALTER TABLE notifications DROP CONSTRAINT notifications_about_something;
ALTER TABLE notifications ADD CONSTRAINT notifications_about_something CHECK (
    listing_id IS NOT NULL OR conversation_id IS NOT NULL OR object_uri IS NOT NULL
    OR moderation_entry_id IS NOT NULL OR warning_id IS NOT NULL);
ALTER TABLE notifications ADD CONSTRAINT notifications_warning_shape
    CHECK ((kind = 'moderation_warning') = (warning_id IS NOT NULL));

-- Remote people suspended here: the inbox refuses what they send (in the same statement
-- that stores an activity, see db/inbox.py), and what they had here was removed when they
-- were suspended. Apart from remote_actors, which is a cache that may be refreshed or
-- forgotten; the suspension outlives it.
CREATE TABLE suspended_actors (
    uri text PRIMARY KEY CHECK (uri ~ '^https?://' AND length(uri) <= 2048),
    moderator_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
    suspended_at timestamptz NOT NULL DEFAULT now()
);
