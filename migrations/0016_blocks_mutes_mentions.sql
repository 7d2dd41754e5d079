-- Blocks, mutes and hidden domains that residents choose for themselves, and mentions and
-- public replies from the fediverse among their notifications.
--
-- actor_blocks (0003) keeps the Blocks this node RECEIVES: a remote actor blocked one of our
-- residents, by URI on both sides. What a resident decides is kept apart, by account, since
-- the person may be a resident too (their listings are found by account id) and the rows go
-- with the account.

-- a resident blocks or mutes a person: a resident of this node or a remote actor
CREATE TABLE resident_blocks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id bigint REFERENCES accounts (id) ON DELETE CASCADE,
    -- as remote_actors.uri; not a foreign key, as the cache may be pruned while this stays
    target_actor_uri text CHECK (target_actor_uri ~ '^https?://'
                                 AND length(target_actor_uri) <= 2048),
    -- block: they may not answer the resident's listings, write to them or follow them, and
    -- a remote actor's node gets a Block; both: their listings and mentions are hidden from
    -- the resident. One row per person: blocking someone muted turns the mute into a block.
    kind text NOT NULL CHECK (kind IN ('block', 'mute')),
    -- the Block sent for a remote actor, which unblocking undoes
    activity_uri text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((target_account_id IS NULL) <> (target_actor_uri IS NULL)),
    CHECK (target_account_id IS DISTINCT FROM account_id)
);

-- "does this resident block or mute that person", and a resident's whole list
CREATE UNIQUE INDEX resident_blocks_account_idx ON resident_blocks (account_id, target_account_id)
    WHERE target_account_id IS NOT NULL;
CREATE UNIQUE INDEX resident_blocks_actor_idx ON resident_blocks (account_id, target_actor_uri)
    WHERE target_actor_uri IS NOT NULL;
-- the account a resident is, when it goes (the cascade finds the rows that name it)
CREATE INDEX resident_blocks_target_idx ON resident_blocks (target_account_id)
    WHERE target_account_id IS NOT NULL;

-- a resident hides every person and listing of a domain, for themselves
CREATE TABLE resident_domain_hides (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain text NOT NULL CHECK (domain = lower(domain) AND length(domain) BETWEEN 1 AND 253),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, domain)
);

-- a Note from the fediverse that mentions a resident, or replies publicly to their listing
-- (then listing_id names it): who wrote it, its id, where to read it, and its text made plain
ALTER TABLE notifications
    ADD COLUMN actor_uri text CHECK (actor_uri ~ '^https?://' AND length(actor_uri) <= 2048),
    ADD COLUMN object_uri text CHECK (object_uri ~ '^https?://' AND length(object_uri) <= 2048),
    ADD COLUMN object_url text CHECK (object_url ~ '^https?://' AND length(object_url) <= 2048),
    ADD COLUMN body text CHECK (length(body) <= 1000);

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention'));
ALTER TABLE notifications DROP CONSTRAINT notifications_about_something;
ALTER TABLE notifications ADD CONSTRAINT notifications_about_something
    CHECK (listing_id IS NOT NULL OR conversation_id IS NOT NULL OR object_uri IS NOT NULL);
ALTER TABLE notifications ADD CONSTRAINT notifications_mention_shape
    CHECK ((kind = 'mention') = (object_uri IS NOT NULL AND actor_uri IS NOT NULL));

-- one notification per Note and resident, however often the Note arrives
CREATE UNIQUE INDEX notifications_mention_idx ON notifications (account_id, object_uri)
    WHERE object_uri IS NOT NULL;
-- a Note deleted by its author takes its notifications with it
CREATE INDEX notifications_object_idx ON notifications (object_uri) WHERE object_uri IS NOT NULL;

-- the one automatic direct message that a public reply to a listing gets, per replier and
-- listing; a direct reply to that message is an answer to the listing
CREATE TABLE listing_reply_notices (
    listing_id bigint NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
    actor_uri text NOT NULL CHECK (actor_uri ~ '^https?://'),
    note_uri text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (listing_id, actor_uri)
);
